"""Component maps of one simulated area's noise-free scans."""

import sys

sys.stderr = open(snakemake.log[0], "w")

from ramansr.decompose import clean_maps_file

clean_maps_file(
    snakemake.input.truth,
    snakemake.input.model,
    {"lowres": snakemake.input.lowres, "highres": snakemake.input.highres},
    snakemake.output[0],
    snakemake.params.settings,
    geometry_path=snakemake.input.geometry,
    lowres_header_path=snakemake.input.lowres_header,
)
