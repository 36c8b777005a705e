"""Super-resolve one LR scan, rebuild its HR cube, check its LR consistency and, with the model's
calibration, give its uncertainty; with the model's settings."""

import sys

sys.stderr = open(snakemake.log[0], "w")

from ramansr.inference import use_threads
from ramansr.prediction.scan import predict_scan

use_threads(snakemake.threads)

predict_scan(
    snakemake.input.scan,
    snakemake.input.model,
    snakemake.output.maps,
    snakemake.output.png,
    snakemake.output.mat,
    **snakemake.params.read,
    **snakemake.params.imaging,
    calibration=getattr(snakemake.input, "calibration", None) or None,
    threshold_rmse=snakemake.params.threshold_rmse,
)
