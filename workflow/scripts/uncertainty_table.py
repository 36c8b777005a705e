"""Every test map's predicted and true RMSE, coverage, and the Spearman correlation per model."""

import sys

sys.stderr = open(snakemake.log[0], "w")

from ramansr.uncertainty.stages import uncertainty_table_file

uncertainty_table_file(snakemake.input.scores, snakemake.params.settings, snakemake.output.csv, snakemake.output.md)
