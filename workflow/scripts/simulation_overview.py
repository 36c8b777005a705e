"""Figure: one simulated area, LR with the HR window, HR, and the component spectra."""

import sys

sys.stderr = open(snakemake.log[0], "w")

from ramansr.simulate import plot_overview

plot_overview(snakemake.input.lowres, snakemake.input.highres, snakemake.input.truth, snakemake.output[0])
