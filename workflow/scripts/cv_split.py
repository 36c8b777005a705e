"""One cross-validation fold's split: the held-out sample's pairs test, the other samples' train and val."""

import sys

sys.stderr = open(snakemake.log[0], "w")

from ramansr.dataset import write_fold_split

write_fold_split(
    snakemake.input.split,
    snakemake.wildcards.fold,
    snakemake.output[0],
    weights=snakemake.params.weights,
    seed=snakemake.params.seed,
)
