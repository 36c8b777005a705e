"""Read one .mat scan into plain arrays."""
import sys

sys.stderr = open(snakemake.log[0], "w")

from ramansr.io import read_scan
from ramansr.io_utils import save_scan_arrays

save_scan_arrays(read_scan(snakemake.input[0], variable=snakemake.params.variable), snakemake.output[0])
