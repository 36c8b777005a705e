# Savitzky-Golay smoothing along the spectra, then every channel scaled to [0, 1].


rule preprocess:
    input:
        "results/arrays/{sample}/{area}/{scan}.npz",
    output:
        cube=temp("results/preprocessed/{sample}/{area}/{scan}.npz"),
        spectra="results/spectra/{sample}/{area}/{scan}.npz",
    params:
        window_length=config["preprocess"]["window_length"],
        polyorder=config["preprocess"]["polyorder"],
    log:
        "results/logs/preprocess/{sample}/{area}/{scan}.log",
    benchmark:
        "results/benchmarks/preprocess/{sample}/{area}/{scan}.tsv"
    conda:
        "../../envs/ramansr.yaml"
    script:
        "../scripts/preprocess.py"
