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
    script:
        "../scripts/evaluate.py"


rule tables:
    input:
        metrics=expand("results/metrics/{model}.csv", model=config["models"]),
        pairs="results/dataset/pairs.npz",
        split="results/dataset/split.csv",
    output:
        train="results/tables/train.csv",
        test="results/tables/test.csv",
        train_md="results/tables/train.md",
        test_md="results/tables/test.md",
        per_image="results/tables/per_image.csv",
    log:
        "results/logs/tables.log",
    benchmark:
        "results/benchmarks/tables.tsv"
    script:
        "../scripts/tables.py"


rule registration_table:
    input:
        registration=per_area("results/registration/{sample}/{area}.json"),
        truth=per_area("results/simulated/{sample}/{area}/truth.npz"),
    output:
        csv="results/tables/registration.csv",
        md="results/tables/registration.md",
    params:
        areas=AREAS,
        factor=config["register"]["factor"],
    log:
        "results/logs/registration_table.log",
    benchmark:
        "results/benchmarks/registration_table.tsv"
    script:
        "../scripts/registration_table.py"
