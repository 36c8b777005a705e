"""The test areas' prediction checks and every prediction's LR consistency in tables."""

import sys

sys.stderr = open(snakemake.log[0], "w")

from ramansr.prediction.report import prediction_table_file

prediction_table_file(
    snakemake.params.areas,
    snakemake.input.checks,
    snakemake.params.names,
    snakemake.input.maps,
    snakemake.params.model,
    snakemake.output.csv,
    snakemake.output.maps,
    snakemake.output.md,
    margin_db=snakemake.params.margin_db,
    area_maps_paths=snakemake.input.area_maps,
    threshold_rmse=snakemake.params.threshold_rmse,
)
