# Find the HR window in the 4x-upscaled LR maps (OpenCV template matching).


rule register:
    input:
        "results/decomposition/{sample}/{area}/nmf.npz",
    output:
        "results/registration/{sample}/{area}.json",
    params:
        factor=config["register"]["factor"],
        interpolation=config["register"]["interpolation"],
    log:
        "results/logs/register/{sample}/{area}.log",
    benchmark:
        "results/benchmarks/register/{sample}/{area}.tsv"
    conda:
        "../../envs/ramansr.yaml"
    script:
        "../scripts/register.py"
