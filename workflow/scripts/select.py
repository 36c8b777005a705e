"""Fourier-space selection of one area's components."""

import sys

sys.stderr = open(snakemake.log[0], "w")

from ramansr.selection import select_area_file

select_area_file(
    snakemake.input.nmf,
    snakemake.input.registration,
    snakemake.output[0],
    min_snr_db=snakemake.params.min_snr_db,
    low_band=tuple(snakemake.params.low_band),
    noise_band=tuple(snakemake.params.noise_band),
    min_hr_contrast=snakemake.params.min_hr_contrast,
)
