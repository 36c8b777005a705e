# Per-image PSNR/SSIM of every model on the HR window, and the paper's tables.


rule evaluate:
    input:
        model="results/models/{model}/best.pt",
        pairs="results/dataset/pairs.npz",
        split="results/dataset/split.csv",
    output:
        "results/metrics/{model}.csv",
    log:
        "results/logs/evaluate/{model}.log",
    benchmark:
        "results/benchmarks/evaluate/{model}.tsv"
    conda:
        "../../envs/torch.yaml"
    threads: 8
    resources:
        gpu=1,
    script:
        "../scripts/evaluate.py"


rule tables:
    input:
        metrics=expand("results/metrics/{model}.csv", model=config["models"]),
        pairs="results/dataset/pairs.npz",
        split="results/dataset/split.csv",
    output:
        train=report(
            "results/tables/train.csv",
            category="Tables",
            caption="../report/table_train.rst",
        ),
        test=report(
            "results/tables/test.csv",
            category="Tables",
            caption="../report/table_test.rst",
        ),
        train_md=report(
            "results/tables/train.md",
            category="Tables",
            caption="../report/table_train.rst",
        ),
        test_md=report(
            "results/tables/test.md",
            category="Tables",
            caption="../report/table_test.rst",
        ),
        per_image=report(
            "results/tables/per_image.csv",
            category="Tables",
            caption="../report/table_per_image.rst",
        ),
    log:
        "results/logs/tables.log",
    benchmark:
        "results/benchmarks/tables.tsv"
    localrule: True
    conda:
        "../../envs/ramansr.yaml"
    script:
        "../scripts/tables.py"


rule registration_table:
    input:
        registration=per_area("results/registration/{sample}/{area}.json"),
        truth=(per_area("results/simulated/{sample}/{area}/truth.npz") if SIMULATED else []),
    output:
        csv=report(
            "results/tables/registration.csv",
            category="Tables",
            caption="../report/table_registration.rst",
        ),
        md=report(
            "results/tables/registration.md",
            category="Tables",
            caption="../report/table_registration.rst",
        ),
    log:
        "results/logs/registration_table.log",
    benchmark:
        "results/benchmarks/registration_table.tsv"
    localrule: True
    conda:
        "../../envs/ramansr.yaml"
    params:
        areas=AREAS,
    script:
        "../scripts/registration_table.py"
