# Keep the components whose LR and HR maps both carry spatial signal.


rule select:
    input:
        "results/decomposition/{sample}/{area}/nmf.npz",
    output:
        "results/selection/{sample}/{area}.json",
    params:
        min_snr_db=config["select"]["min_snr_db"],
        low_band=config["select"]["low_band"],
        noise_band=config["select"]["noise_band"],
    log:
        "results/logs/select/{sample}/{area}.log",
    benchmark:
        "results/benchmarks/select/{sample}/{area}.tsv"
    conda:
        "../../envs/ramansr.yaml"
    script:
        "../scripts/select.py"
