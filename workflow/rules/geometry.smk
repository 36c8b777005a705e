# The run's one SR factor from the scans' pixel sizes, and the checks that refuse impossible
# pairs (steps, fields, spectral axes). Rules rather than parse-time checks: pixel sizes and
# axes are inside the scan files, which parsing must not read. Per area first, so that a
# changed scan reruns only its own area's chain; then the run's factor over all areas.


rule area_geometry:
    input:
        lowres="results/arrays/{sample}/{area}/lowres.json",
        highres="results/arrays/{sample}/{area}/highres.json",
    output:
        "results/geometry/{sample}/{area}.json",
    log:
        "results/logs/geometry/{sample}/{area}.log",
    benchmark:
        "results/benchmarks/geometry/{sample}/{area}.tsv"
    localrule: True
    conda:
        "../../envs/ramansr.yaml"
    params:
        lowres_step=lambda wc: get_area_step(wc, "lowres"),
        highres_step=lambda wc: get_area_step(wc, "highres"),
        min_overlap=config["preprocess"]["min_spectral_overlap"],
    script:
        "../scripts/area_geometry.py"


rule geometry:
    input:
        per_area("results/geometry/{sample}/{area}.json"),
    output:
        "results/geometry.json",
    log:
        "results/logs/geometry.log",
    benchmark:
        "results/benchmarks/geometry.tsv"
    localrule: True
    conda:
        "../../envs/ramansr.yaml"
    script:
        "../scripts/geometry.py"
