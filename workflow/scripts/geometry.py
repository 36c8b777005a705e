"""The run's SR factor and every area's geometry."""
import sys

sys.stderr = open(snakemake.log[0], "w")

from ramansr.geometry import geometry_file

geometry_file(
    snakemake.params.areas,
    snakemake.input.lowres,
    snakemake.input.highres,
    snakemake.output[0],
    snakemake.params.lowres_steps,
    snakemake.params.highres_steps,
    snakemake.params.min_overlap,
)
