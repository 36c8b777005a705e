"""Smooth and scale one scan."""
import sys

sys.stderr = open(snakemake.log[0], "w")

from ramansr.preprocess import preprocess_scan_file

preprocess_scan_file(
    snakemake.input[0],
    snakemake.output.cube,
    snakemake.output.spectra,
    snakemake.params.window_length,
    snakemake.params.polyorder,
)
