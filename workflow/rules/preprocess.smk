# Both scans of an area on one grid and spectral axis, the detector offset removed, cosmic rays
# removed, Savitzky-Golay smoothing along the spectra, the fluorescence baseline removed, then every
# channel scaled to [0, 1].


rule preprocess:
    input:
        arrays="results/arrays/{sample}/{area}/{scan}.npz",
        geometry="results/geometry/{sample}/{area}.json",
        lowres_header="results/arrays/{sample}/{area}/lowres.json",
        dark=DARK_SPECTRUM,
    output:
        cube=temp("results/preprocessed/{sample}/{area}/{scan}.npz"),
        spectra="results/spectra/{sample}/{area}/{scan}.npz",
    log:
        "results/logs/preprocess/{sample}/{area}/{scan}.log",
    benchmark:
        "results/benchmarks/preprocess/{sample}/{area}/{scan}.tsv"
    conda:
        "../../envs/ramansr.yaml"
    params:
        settings=config["preprocess"],
    script:
        "../scripts/preprocess.py"
