"""Training curves of every trained model."""

import sys

sys.stderr = open(snakemake.log[0], "w")

from ramansr.figures.training import plot_training_curves

plot_training_curves(
    dict(zip(snakemake.params.models, snakemake.input.histories, strict=True)),
    [snakemake.output.png, snakemake.output.pdf],
)
