# Read each instrument (or simulated) scan file, any format ramansr.io reads, into plain arrays.


rule convert:
    input:
        get_scan_file,
    output:
        arrays=temp("results/arrays/{sample}/{area}/{scan}.npz"),
        header="results/arrays/{sample}/{area}/{scan}.json",
    log:
        "results/logs/convert/{sample}/{area}/{scan}.log",
    benchmark:
        "results/benchmarks/convert/{sample}/{area}/{scan}.tsv"
    conda:
        "../../envs/ramansr.yaml"
    params:
        variable=lambda wc: None if SIMULATED else config.get("mat_variable"),
        image_shape=lambda wc: scan_image_shape(wc.sample, wc.area, wc.scan),
    script:
        "../scripts/convert.py"
