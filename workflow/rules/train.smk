# Train each super-resolution model (the interpolation baselines only record their name).


rule train:
    input:
        pairs="results/dataset/pairs.npz",
        split="results/dataset/split.csv",
        init=get_srgan_init,
    # Written only once training has finished. last.pt and best_so_far.pt, the files a
    # rerun resumes from, are deliberately not declared: Snakemake deletes a failed job's outputs.
    output:
        best="results/models/{model}/best.pt",
        history="results/models/{model}/history.csv",
        summary="results/models/{model}/summary.json",
    log:
        "results/logs/train/{model}.log",
    benchmark:
        "results/benchmarks/train/{model}.tsv"
    conda:
        "../../envs/torch.yaml"
    threads: 8
    resources:
        gpu=1,
    params:
        settings=lambda wc: model_settings(wc.model),
        pipeline=processing_settings(config),
    script:
        "../scripts/train.py"
