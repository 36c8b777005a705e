# Per-pixel uncertainty (issue 27, ramansr.uncertainty): each model's equivariant bootstrap, calibrated
# by split-conformal prediction on the train and val pairs (uncertainty: calibrate_on) and scored on
# the test pairs, and the table of every test map's predicted against true RMSE.

# joint models take an area's stacks, which the bootstrap does not draw
UNCERTAINTY_MODELS = [name for name in config["models"] if not is_joint(name)]


rule uncertainty:
    input:
        model="results/models/{model}/best.pt",
        pairs="results/dataset/pairs.npz",
        split="results/dataset/split.csv",
    output:
        calibration="results/models/{model}/calibration.json",
        scores="results/uncertainty/{model}.csv",
    log:
        "results/logs/uncertainty/{model}.log",
    benchmark:
        "results/benchmarks/uncertainty/{model}.tsv"
    conda:
        "../../envs/torch.yaml"
    threads: 8
    resources:
        gpu=1,
    params:
        settings=config["uncertainty"],
        imaging=lowres_imaging(),
    script:
        "../scripts/uncertainty.py"


rule uncertainty_table:
    input:
        scores=expand("results/uncertainty/{model}.csv", model=UNCERTAINTY_MODELS),
    output:
        csv=report(
            "results/tables/uncertainty.csv",
            category="Tables",
            caption="../report/table_uncertainty.rst",
        ),
        md=report(
            "results/tables/uncertainty.md",
            category="Tables",
            caption="../report/table_uncertainty.rst",
        ),
    log:
        "results/logs/uncertainty_table.log",
    benchmark:
        "results/benchmarks/uncertainty_table.tsv"
    localrule: True
    conda:
        "../../envs/ramansr.yaml"
    params:
        settings=config["uncertainty"],
    script:
        "../scripts/uncertainty_table.py"


# The same per cross-validation fold (dataset: cv): calibrated on the fold's train and val pairs,
# scored on its held-out sample's maps.
use rule uncertainty as cv_uncertainty with:
    input:
        model="results/cv/{fold}/models/{model}/best.pt",
        pairs="results/dataset/pairs.npz",
        split="results/cv/{fold}/split.csv",
    output:
        calibration="results/cv/{fold}/models/{model}/calibration.json",
        scores="results/cv/{fold}/uncertainty/{model}.csv",
    log:
        "results/logs/cv/{fold}/uncertainty/{model}.log",
    benchmark:
        "results/benchmarks/cv/{fold}/uncertainty/{model}.tsv"


rule cv_uncertainty_table:
    input:
        scores=lambda wildcards: [
            f"results/cv/{fold}/uncertainty/{model}.csv" for fold in cv_folds() for model in UNCERTAINTY_MODELS
        ],
    output:
        csv=report(
            "results/tables/cv_uncertainty.csv",
            category="Tables",
            caption="../report/table_uncertainty.rst",
        ),
        md=report(
            "results/tables/cv_uncertainty.md",
            category="Tables",
            caption="../report/table_uncertainty.rst",
        ),
    log:
        "results/logs/cv/uncertainty_table.log",
    benchmark:
        "results/benchmarks/cv/uncertainty_table.tsv"
    localrule: True
    conda:
        "../../envs/ramansr.yaml"
    params:
        settings=config["uncertainty"],
        folds=lambda wildcards: [fold for fold in cv_folds() for _ in UNCERTAINTY_MODELS],
    script:
        "../scripts/cv_uncertainty_table.py"
