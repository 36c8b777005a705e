"""Train one model."""

import sys

sys.stderr = open(snakemake.log[0], "w")

from ramansr.train import train_model

settings = dict(snakemake.params.settings)
if snakemake.input.init:
    settings["init_from"] = snakemake.input.init
train_model(
    snakemake.wildcards.model,
    snakemake.input.pairs,
    snakemake.input.split,
    snakemake.params.out_dir,
    settings,
    pipeline=snakemake.params.pipeline,
)
