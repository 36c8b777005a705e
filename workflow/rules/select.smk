# Keep the components whose LR and HR maps both carry spatial signal (and whose HR map did not collapse).


rule select:
    input:
        nmf="results/decomposition/{sample}/{area}/nmf.npz",
        registration="results/registration/{sample}/{area}.json",
    output:
        "results/selection/{sample}/{area}.json",
    log:
        "results/logs/select/{sample}/{area}.log",
    benchmark:
        "results/benchmarks/select/{sample}/{area}.tsv"
    conda:
        "../../envs/ramansr.yaml"
    params:
        min_snr_db=config["select"]["min_snr_db"],
        low_band=config["select"]["low_band"],
        noise_band=config["select"]["noise_band"],
        min_hr_contrast=config["select"]["min_hr_contrast"],
    script:
        "../scripts/select.py"


rule selection_table:
    input:
        selection=per_area("results/selection/{sample}/{area}.json"),
        registration=per_area("results/registration/{sample}/{area}.json"),
    output:
        csv=report(
            "results/tables/selection.csv",
            category="Tables",
            caption="../report/table_selection.rst",
        ),
        md=report(
            "results/tables/selection.md",
            category="Tables",
            caption="../report/table_selection.rst",
        ),
    log:
        "results/logs/selection_table.log",
    benchmark:
        "results/benchmarks/selection_table.tsv"
    localrule: True
    conda:
        "../../envs/ramansr.yaml"
    params:
        areas=AREAS,
    script:
        "../scripts/selection_table.py"
