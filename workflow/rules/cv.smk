# Leave-one-sample-out cross-validation (dataset: cv: leave_one_sample_out): per fold (a held-out
# sample) its own split of the run's pairs, every model trained and scored on it, then one table.


rule cv_split:
    input:
        split="results/dataset/split.csv",
    output:
        "results/cv/{fold}/split.csv",
    log:
        "results/logs/cv/{fold}/split.log",
    benchmark:
        "results/benchmarks/cv/{fold}/split.tsv"
    localrule: True
    conda:
        "../../envs/ramansr.yaml"
    params:
        weights=config["dataset"]["split"],
        seed=config["dataset"]["seed"],
    script:
        "../scripts/cv_split.py"


# Training and scoring as in the run itself (threads, gpu=1, settings), on the fold's split.
use rule train as cv_train with:
    input:
        pairs="results/dataset/pairs.npz",
        split="results/cv/{fold}/split.csv",
        init=get_srgan_init,
    output:
        best="results/cv/{fold}/models/{model}/best.pt",
        history="results/cv/{fold}/models/{model}/history.csv",
        summary="results/cv/{fold}/models/{model}/summary.json",
    log:
        "results/logs/cv/{fold}/train/{model}.log",
    benchmark:
        "results/benchmarks/cv/{fold}/train/{model}.tsv"


use rule evaluate as cv_evaluate with:
    input:
        model="results/cv/{fold}/models/{model}/best.pt",
        pairs="results/dataset/pairs.npz",
        split="results/cv/{fold}/split.csv",
    output:
        "results/cv/{fold}/metrics/{model}.csv",
    log:
        "results/logs/cv/{fold}/evaluate/{model}.log",
    benchmark:
        "results/benchmarks/cv/{fold}/evaluate/{model}.tsv"


rule cv_tables:
    input:
        metrics=get_cv_metrics,
        splits=get_cv_splits,
    output:
        csv=report(
            "results/tables/cv.csv",
            category="Tables",
            caption="../report/table_cv.rst",
        ),
        md=report(
            "results/tables/cv.md",
            category="Tables",
            caption="../report/table_cv.rst",
        ),
        png=report(
            "results/figures/cv_gain.png",
            category="Cross-validation",
            caption="../report/cv_gain.rst",
        ),
        pdf="results/figures/cv_gain.pdf",
    log:
        "results/logs/cv/tables.log",
    benchmark:
        "results/benchmarks/cv/tables.tsv"
    localrule: True
    conda:
        "../../envs/ramansr.yaml"
    params:
        metric_folds=get_cv_metric_folds,
        folds=lambda wildcards: cv_folds(),
    script:
        "../scripts/cv_tables.py"
