"""The run's SR factor: every area's geometry, which must agree."""

import sys

sys.stderr = open(snakemake.log[0], "w")

from ramansr.geometry.areas import geometry_file

geometry_file(snakemake.input, snakemake.output[0])
