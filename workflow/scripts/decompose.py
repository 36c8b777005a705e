"""NMF (and PCA) of one area."""

import sys

sys.stderr = open(snakemake.log[0], "w")

from ramansr.decompose import decompose_area_files

decompose_area_files(
    snakemake.input.lowres,
    snakemake.input.highres,
    snakemake.output.nmf,
    snakemake.output.pca,
    snakemake.output.model,
    snakemake.params.n_components,
    snakemake.params.pca_components,
    snakemake.params.seed,
    snakemake.params.max_iter,
    snakemake.params.tol,
    snakemake.params.names,
)
