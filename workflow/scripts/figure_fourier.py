"""Figs. S2 and S3: Fourier power of kept against rejected components (LR or HR maps)."""

import sys

sys.stderr = open(snakemake.log[0], "w")

from ramansr.figures.fourier import plot_fourier_selection

plot_fourier_selection(
    snakemake.input.nmf,
    snakemake.input.selection,
    snakemake.wildcards.scan,
    [snakemake.output.png, snakemake.output.pdf],
)
