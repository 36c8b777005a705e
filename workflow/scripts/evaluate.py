"""Score one model on every pair's HR window."""

import sys

sys.stderr = open(snakemake.log[0], "w")

from ramansr.inference import use_threads
from ramansr.metrics import evaluate_model_file

use_threads(snakemake.threads)

evaluate_model_file(
    snakemake.wildcards.model, snakemake.input.model, snakemake.input.pairs, snakemake.input.split, snakemake.output[0]
)
