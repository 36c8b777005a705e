# Super-resolve LR scans with the trained model: the paper's point, an HR image
# where no HR scan was taken. Test-split areas are checked against their HR scans.


rule predict:
    input:
        scan=get_scan_to_predict,
        model=model_checkpoint(config["predict"]["model"]),
        calibration=get_prediction_calibration,
    output:
        maps="results/predictions/{name}/maps.npz",
        png=report(
            "results/predictions/{name}/maps.png",
            category="Prediction",
            caption="../report/prediction.rst",
        ),
        mat="results/predictions/{name}/cube.mat",
    log:
        "results/logs/predict/{name}.log",
    benchmark:
        "results/benchmarks/predict/{name}.tsv"
    conda:
        "../../envs/torch.yaml"
    threads: 8
    resources:
        gpu=1,
    params:
        read=get_scan_read_options,
        imaging=lowres_imaging(),
        threshold_rmse=config["uncertainty"]["threshold_rmse"],
    script:
        "../scripts/predict.py"


rule prediction_check:
    input:
        predicted=f"results/predictions/{TEST_AREA_PREDICTION}/cube.mat",
        maps=f"results/predictions/{TEST_AREA_PREDICTION}/maps.npz",
        lowres=lambda wc: get_scan_file(wc, "lowres"),
        highres=lambda wc: get_scan_file(wc, "highres"),
        registration="results/registration/{sample}/{area}.json",
        nmf="results/decomposition/{sample}/{area}/nmf.npz",
        geometry="results/geometry/{sample}/{area}.json",
        dark=DARK_SPECTRUM,
    output:
        f"results/predictions/{TEST_AREA_PREDICTION}/check.json",
    log:
        "results/logs/prediction_check/{sample}/{area}.log",
    benchmark:
        "results/benchmarks/prediction_check/{sample}/{area}.tsv"
    conda:
        "../../envs/ramansr.yaml"
    params:
        settings=config["preprocess"],
        band=config["predict"]["band"],
    script:
        "../scripts/prediction_check.py"


rule prediction_table:
    input:
        checks=get_test_area_checks,
        maps=[f"results/predictions/{name}/maps.npz" for name in config["predict"]["scans"]],
        area_maps=lambda wc: [f"results/predictions/{area_prediction_name(s, a)}/maps.npz" for s, a in test_areas()],
    output:
        csv=report(
            "results/tables/prediction.csv",
            category="Tables",
            caption="../report/table_prediction.rst",
        ),
        maps=report(
            "results/tables/consistency.csv",
            category="Tables",
            caption="../report/table_consistency.rst",
        ),
        md="results/tables/prediction.md",
    log:
        "results/logs/prediction_table.log",
    benchmark:
        "results/benchmarks/prediction_table.tsv"
    localrule: True
    conda:
        "../../envs/ramansr.yaml"
    params:
        areas=lambda wc: test_areas(),
        names=list(config["predict"]["scans"]),
        model=config["predict"]["model"],
        margin_db=config["predict"]["consistency_margin_db"],
        threshold_rmse=config["uncertainty"]["threshold_rmse"],
    script:
        "../scripts/prediction_table.py"


rule figure_spectral_fidelity:
    input:
        checks=get_test_area_checks,
    output:
        png=report(
            "results/figures/spectral_fidelity.png",
            category="Prediction",
            caption="../report/spectral_fidelity.rst",
        ),
        pdf="results/figures/spectral_fidelity.pdf",
    log:
        "results/logs/figures/spectral_fidelity.log",
    benchmark:
        "results/benchmarks/figures/spectral_fidelity.tsv"
    localrule: True
    conda:
        "../../envs/ramansr.yaml"
    params:
        areas=lambda wc: test_areas(),
        model=config["predict"]["model"],
    script:
        "../scripts/figure_spectral_fidelity.py"
