"""The test areas' prediction checks in one table."""

import sys

sys.stderr = open(snakemake.log[0], "w")

from ramansr.predict import prediction_table_file

prediction_table_file(
    snakemake.params.areas, snakemake.input.checks, snakemake.params.model, snakemake.output.csv, snakemake.output.md
)
