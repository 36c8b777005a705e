# ramansr: deep super-resolution of Raman hyperspectral images.
# Run with `snakemake --cores all`; see README.md.
from snakemake.utils import min_version

min_version("9.0")


configfile: "config.yaml"


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/simulate.smk"
include: "workflow/rules/convert.smk"
include: "workflow/rules/geometry.smk"
include: "workflow/rules/preprocess.smk"
include: "workflow/rules/decompose.smk"
include: "workflow/rules/register.smk"
include: "workflow/rules/select.smk"
include: "workflow/rules/dataset.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/evaluate.smk"
include: "workflow/rules/uncertainty.smk"
include: "workflow/rules/cv.smk"
include: "workflow/rules/predict.smk"
include: "workflow/rules/report.smk"


rule all:
    default_target: True
    input:
        final_outputs(),
        report_outputs(),
    localrule: True
