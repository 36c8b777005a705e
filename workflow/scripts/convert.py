"""Read one scan (any format ramansr.io reads) into plain arrays, and its header (shape, pixel size,
axis) for the geometry stage."""

import sys

sys.stderr = open(snakemake.log[0], "w")

from ramansr.geometry.areas import save_scan_header
from ramansr.io import read_scan_for_pipeline
from ramansr.io_utils import save_scan_arrays

scan = read_scan_for_pipeline(
    snakemake.input[0], snakemake.params.variable, snakemake.params.image_shape, snakemake.wildcards.scan
)
save_scan_arrays(scan, snakemake.output.arrays)
save_scan_header(scan, snakemake.output.header, snakemake.input[0])
