"""Locate one area's HR window in its upscaled LR maps."""

import sys

sys.stderr = open(snakemake.log[0], "w")

from ramansr.register import register_area_file

register_area_file(
    snakemake.input.nmf,
    snakemake.input.geometry,
    snakemake.output[0],
    snakemake.params.interpolation,
    snakemake.params.min_peak_margin,
    snakemake.params.max_disagreement_px,
)
