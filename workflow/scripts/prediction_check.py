"""Score one test area's predicted HR cube against its measured HR scan."""

import sys

sys.stderr = open(snakemake.log[0], "w")

from ramansr.predict import check_prediction_file

check_prediction_file(
    snakemake.input.predicted,
    snakemake.input.lowres,
    snakemake.input.highres,
    snakemake.input.registration,
    snakemake.output[0],
    tuple(snakemake.params.band),
)
