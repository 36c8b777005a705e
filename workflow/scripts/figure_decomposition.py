"""Fig. 2: PCA against NMF of one area."""

import sys

sys.stderr = open(snakemake.log[0], "w")

from ramansr.figures.spectra import plot_decomposition

plot_decomposition(
    snakemake.input.nmf,
    snakemake.input.pca,
    snakemake.input.spectra,
    [snakemake.output.png, snakemake.output.pdf],
    title=snakemake.params.title,
)
