"""Super-resolve one LR scan and rebuild its HR cube, with the settings the model was trained with."""

import sys

sys.stderr = open(snakemake.log[0], "w")

from ramansr.predict import predict_scan

predict_scan(
    snakemake.input.scan,
    snakemake.input.model,
    snakemake.output.maps,
    snakemake.output.png,
    snakemake.output.mat,
    **snakemake.params.read,
)
