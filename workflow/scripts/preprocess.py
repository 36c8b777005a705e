"""Align, despike, smooth and scale one scan."""

import sys

sys.stderr = open(snakemake.log[0], "w")

from ramansr.preprocess import preprocess_scan_file

preprocess_scan_file(
    snakemake.input.arrays,
    snakemake.output.cube,
    snakemake.output.spectra,
    snakemake.params.settings,
    scan=snakemake.wildcards.scan,
    geometry_path=snakemake.input.geometry,
    lowres_header_path=snakemake.input.lowres_header,
)
