"""Registration accuracy against the simulator's truth."""

import sys

sys.stderr = open(snakemake.log[0], "w")

from ramansr.register import registration_table_file

registration_table_file(
    snakemake.params.areas,
    snakemake.input.registration,
    snakemake.input.truth,
    snakemake.output.csv,
    snakemake.output.md,
)
