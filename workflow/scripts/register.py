"""Locate one area's HR window in its upscaled LR maps."""
import sys

sys.stderr = open(snakemake.log[0], "w")

from ramansr.register import register_area_file

register_area_file(snakemake.input[0], snakemake.output[0], snakemake.params.factor, snakemake.params.interpolation)
