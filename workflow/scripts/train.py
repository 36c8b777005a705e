"""Train one model into the folder of its declared outputs."""

import sys
from pathlib import Path

sys.stderr = open(snakemake.log[0], "w")

from ramansr.inference import use_threads
from ramansr.train import train_model

use_threads(snakemake.threads)

settings = dict(snakemake.params.settings)
if snakemake.input.init:
    settings["init_from"] = snakemake.input.init
train_model(
    snakemake.wildcards.model,
    snakemake.input.pairs,
    snakemake.input.split,
    Path(snakemake.output.best).parent,
    settings,
    pipeline=snakemake.params.pipeline,
)
