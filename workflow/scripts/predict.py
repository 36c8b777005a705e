"""Super-resolve one LR scan and rebuild its HR cube."""
import sys

sys.stderr = open(snakemake.log[0], "w")

from ramansr.predict import predict_scan

predict_scan(
    snakemake.input.scan,
    snakemake.input.model,
    snakemake.output.maps,
    snakemake.output.png,
    snakemake.output.mat,
    n_components=snakemake.params.n_components,
    window_length=snakemake.params.window_length,
    polyorder=snakemake.params.polyorder,
    seed=snakemake.params.seed,
    max_iter=snakemake.params.max_iter,
)
