"""Per-channel PSNR of the test areas' rebuilt HR cubes and of linear interpolation, over the spectrum."""

import sys

sys.stderr = open(snakemake.log[0], "w")

from ramansr.prediction.report import plot_spectral_fidelity_file

plot_spectral_fidelity_file(
    snakemake.params.areas, snakemake.input.checks, snakemake.params.model, snakemake.output.png, snakemake.output.pdf
)
