"""Collect every area's kept pairs and split them."""

import sys

sys.stderr = open(snakemake.log[0], "w")

from ramansr.dataset import build_dataset_files

build_dataset_files(
    snakemake.params.areas,
    snakemake.input.decomposition,
    snakemake.input.registration,
    snakemake.input.selection,
    snakemake.input.clean or None,
    snakemake.output.pairs,
    snakemake.output.split,
    weights=snakemake.params.weights,
    group_by_area=snakemake.params.group_by_area,
    seed=snakemake.params.seed,
    geometry_path=snakemake.input.geometry,
    keep_doubtful=snakemake.params.keep_doubtful,
)
