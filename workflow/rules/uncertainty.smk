# Per-pixel uncertainty (issue 27, ramansr.uncertainty): each model's equivariant bootstrap, calibrated
# by split-conformal prediction on the val pairs and scored on the test pairs, and the table of every
# test map's predicted against true RMSE.

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
