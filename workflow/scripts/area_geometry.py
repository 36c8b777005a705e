"""One area's steps, SR factor, fields and spectral overlap."""

import sys

sys.stderr = open(snakemake.log[0], "w")

from ramansr.geometry.areas import area_geometry_file

area_geometry_file(
    snakemake.input.lowres,
    snakemake.input.highres,
    snakemake.output[0],
    snakemake.wildcards.sample,
    snakemake.wildcards.area,
    snakemake.params.lowres_step,
    snakemake.params.highres_step,
    snakemake.params.min_overlap,
)
