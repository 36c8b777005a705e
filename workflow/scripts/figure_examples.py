"""Figs. 4 and 5: every model's output on train or test examples."""

import sys

sys.stderr = open(snakemake.log[0], "w")

from ramansr.figures.examples import plot_examples

plot_examples(
    snakemake.input.pairs,
    snakemake.input.split,
    dict(zip(snakemake.params.models, snakemake.input.checkpoints, strict=True)),
    snakemake.input.spectra,
    snakemake.wildcards.split,
    [snakemake.output.png, snakemake.output.pdf],
)
