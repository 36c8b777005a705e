# Find the HR window in the LR maps upscaled by the run's SR factor (OpenCV template matching);
# flag the doubtful ones.


rule register:
    input:
        nmf="results/decomposition/{sample}/{area}/nmf.npz",
        geometry="results/geometry/{sample}/{area}.json",
    output:
        "results/registration/{sample}/{area}.json",
    log:
        "results/logs/register/{sample}/{area}.log",
    benchmark:
        "results/benchmarks/register/{sample}/{area}.tsv"
    conda:
        "../../envs/ramansr.yaml"
    params:
        interpolation=config["register"]["interpolation"],
        min_peak_margin=config["register"]["min_peak_margin"],
        max_disagreement_px=config["register"]["max_disagreement_px"],
    script:
        "../scripts/register.py"
