"""Simulate one area's paired LR/HR scans and their truth."""

import sys

sys.stderr = open(snakemake.log[0], "w")

from ramansr.simulate import write_area

write_area(
    snakemake.params.settings,
    snakemake.wildcards.sample,
    int(snakemake.wildcards.area),
    snakemake.output.lowres,
    snakemake.output.highres,
    snakemake.output.truth,
)
