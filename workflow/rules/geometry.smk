# The run's one SR factor, from every area's scan pixel sizes, and the checks that refuse
# impossible pairs (steps, fields, spectral axes). A rule rather than a parse-time check:
# the pixel sizes and axes are in the scan files, which parsing must not have to read.


rule geometry:
    input:
        lowres=per_area("results/arrays/{sample}/{area}/lowres.json"),
        highres=per_area("results/arrays/{sample}/{area}/highres.json"),
    output:
        "results/geometry.json",
    params:
        areas=AREAS,
        lowres_steps=sheet_steps("lowres"),
        highres_steps=sheet_steps("highres"),
        min_overlap=config["preprocess"]["min_spectral_overlap"],
    log:
        "results/logs/geometry.log",
    benchmark:
        "results/benchmarks/geometry.tsv"
    conda:
        "../../envs/ramansr.yaml"
    script:
        "../scripts/geometry.py"
