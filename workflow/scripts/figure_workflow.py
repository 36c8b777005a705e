"""Fig. 1: the workflow's rule graph."""

import sys

sys.stderr = open(snakemake.log[0], "w")

from ramansr.rulegraph import plot_rulegraph, rulegraph_dot

plot_rulegraph(
    rulegraph_dot(snakemake.params.snakefile, snakemake.params.configfiles),
    [snakemake.output.png, snakemake.output.pdf],
)
