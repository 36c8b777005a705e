"""Read one scan (any format ramansr.io reads) into plain arrays."""
import sys

sys.stderr = open(snakemake.log[0], "w")

from ramansr.io import read_scan_for_pipeline
from ramansr.io_utils import save_scan_arrays

scan = read_scan_for_pipeline(snakemake.input[0], snakemake.params.variable, snakemake.params.image_shape,
                              snakemake.wildcards.scan)
save_scan_arrays(scan, snakemake.output[0])
