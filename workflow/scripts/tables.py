"""The paper's tables for train and test, and the per-image scores."""

import sys

sys.stderr = open(snakemake.log[0], "w")

from ramansr.metrics import write_tables

write_tables(snakemake.input.metrics, snakemake.input.pairs, snakemake.input.split, dict(snakemake.output))
