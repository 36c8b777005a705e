"""The uncertainty table of every cross-validation fold's held-out maps."""

import sys

sys.stderr = open(snakemake.log[0], "w")

from ramansr.uncertainty.stages import uncertainty_table_file

uncertainty_table_file(
    snakemake.input.scores,
    snakemake.params.settings,
    snakemake.output.csv,
    snakemake.output.md,
    folds=snakemake.params.folds,
)
