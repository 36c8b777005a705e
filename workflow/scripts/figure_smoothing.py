"""Fig. S1: raw against smoothed spectrum at one pixel, LR and HR."""

import sys

sys.stderr = open(snakemake.log[0], "w")

from ramansr.figures.spectra import plot_smoothing

plot_smoothing(
    snakemake.input.lowres,
    snakemake.input.highres,
    [snakemake.output.png, snakemake.output.pdf],
    title=snakemake.params.title,
)
