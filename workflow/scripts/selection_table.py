"""Every area's components: kept, or dropped and why."""

import sys

sys.stderr = open(snakemake.log[0], "w")

from ramansr.selection import selection_table_file

selection_table_file(
    snakemake.params.areas,
    snakemake.input.selection,
    snakemake.input.registration,
    snakemake.output.csv,
    snakemake.output.md,
)
