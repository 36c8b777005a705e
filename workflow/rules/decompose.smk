# NMF fitted on the area's LR scan; the same model transforms its HR scan.


rule decompose:
    input:
        lowres="results/preprocessed/{sample}/{area}/lowres.npz",
        highres="results/preprocessed/{sample}/{area}/highres.npz",
    output:
        nmf="results/decomposition/{sample}/{area}/nmf.npz",
        pca="results/decomposition/{sample}/{area}/pca.npz",
        model="results/decomposition/{sample}/{area}/nmf_model.joblib",
    log:
        "results/logs/decompose/{sample}/{area}.log",
    benchmark:
        "results/benchmarks/decompose/{sample}/{area}.tsv"
    conda:
        "../../envs/ramansr.yaml"
    params:
        n_components=config["decompose"]["n_components"],
        pca_components=config["decompose"]["pca_components"],
        seed=config["decompose"]["seed"],
        max_iter=config["decompose"]["max_iter"],
        tol=config["decompose"]["tol"],
        names=lambda wc: [f"{get_scan_file(wc, scan)} (sample {wc.sample}, area {wc.area})" for scan in SCANS],
    script:
        "../scripts/decompose.py"


# Simulated data only: the noise-free scans through the same processing, to score against.
rule clean_maps:
    input:
        truth="results/simulated/{sample}/{area}/truth.npz",
        model="results/decomposition/{sample}/{area}/nmf_model.joblib",
        lowres="results/spectra/{sample}/{area}/lowres.npz",
        highres="results/spectra/{sample}/{area}/highres.npz",
        geometry="results/geometry/{sample}/{area}.json",
        lowres_header="results/arrays/{sample}/{area}/lowres.json",
    output:
        "results/decomposition/{sample}/{area}/clean_maps.npz",
    log:
        "results/logs/clean_maps/{sample}/{area}.log",
    benchmark:
        "results/benchmarks/clean_maps/{sample}/{area}.tsv"
    conda:
        "../../envs/ramansr.yaml"
    params:
        settings=config["preprocess"],
    script:
        "../scripts/clean_maps.py"
