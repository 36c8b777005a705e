"""Score one test area's prediction against its measured HR scan: band image, component maps, every channel."""

import sys

sys.stderr = open(snakemake.log[0], "w")

from ramansr.prediction.check import check_prediction_file

check_prediction_file(
    snakemake.input.predicted,
    snakemake.input.maps,
    snakemake.input.lowres,
    snakemake.input.highres,
    snakemake.input.registration,
    snakemake.input.nmf,
    snakemake.input.geometry,
    snakemake.output[0],
    settings=snakemake.params.settings,
    band=tuple(snakemake.params.band),
)
