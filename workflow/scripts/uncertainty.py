"""Calibrate one model's uncertainty on the calibrate_on pairs and score it on the test pairs."""

import sys

sys.stderr = open(snakemake.log[0], "w")

from ramansr.inference import use_threads
from ramansr.uncertainty.stages import calibrate_model_file

use_threads(snakemake.threads)

calibrate_model_file(
    snakemake.wildcards.model,
    snakemake.input.model,
    snakemake.input.pairs,
    snakemake.input.split,
    snakemake.params.settings,
    dict(snakemake.output),
    **snakemake.params.imaging,
)
