"""The cross-validation's table (per fold and pooled) and its gain figure."""

import sys

sys.stderr = open(snakemake.log[0], "w")

from ramansr.crossval import write_cv_outputs

write_cv_outputs(
    snakemake.input.metrics,
    snakemake.params.metric_folds,
    snakemake.input.splits,
    snakemake.params.folds,
    {"csv": snakemake.output.csv, "md": snakemake.output.md, "figure": [snakemake.output.png, snakemake.output.pdf]},
)
