# Every kept (LR map, HR map, X, Y) pair in one file, and the train/val/test split.


checkpoint dataset:
    input:
        decomposition=per_area("results/decomposition/{sample}/{area}/nmf.npz"),
        registration=per_area("results/registration/{sample}/{area}.json"),
        selection=per_area("results/selection/{sample}/{area}.json"),
        # not read: the selection table stops the run first when a specimen's HR maps collapse
        selection_table="results/tables/selection.csv",
        clean=(per_area("results/decomposition/{sample}/{area}/clean_maps.npz") if SIMULATED else []),
        geometry="results/geometry.json",
    output:
        pairs="results/dataset/pairs.npz",
        split="results/dataset/split.csv",
    log:
        "results/logs/dataset.log",
    benchmark:
        "results/benchmarks/dataset.tsv"
    conda:
        "../../envs/ramansr.yaml"
    params:
        areas=AREAS,
        weights=config["dataset"]["split"],
        group_by_area=config["dataset"]["group_by_area"],
        seed=config["dataset"]["seed"],
        keep_doubtful=config["register"]["keep_doubtful"],
    script:
        "../scripts/dataset.py"
