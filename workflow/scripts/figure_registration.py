"""Fig. 3: template matching of one area, two components."""

import sys

sys.stderr = open(snakemake.log[0], "w")

from ramansr.figures.registration import plot_registration

plot_registration(
    snakemake.input.nmf,
    snakemake.input.registration,
    snakemake.input.selection,
    snakemake.input.spectra,
    [snakemake.output.png, snakemake.output.pdf],
    title=snakemake.params.title,
)
