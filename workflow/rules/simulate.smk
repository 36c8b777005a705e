# The embedded default data: paired LR/HR scans from the simulator, with their truth.


rule simulate:
    output:
        lowres="results/simulated/{sample}/{area}/lowres.mat",
        highres="results/simulated/{sample}/{area}/highres.mat",
        truth="results/simulated/{sample}/{area}/truth.npz",
    log:
        "results/logs/simulate/{sample}/{area}.log",
    benchmark:
        "results/benchmarks/simulate/{sample}/{area}.tsv"
    conda:
        "../../envs/ramansr.yaml"
    params:
        settings=config["simulation"],
    script:
        "../scripts/simulate.py"


rule simulation_overview:
    input:
        lowres=first_area("results/simulated/{sample}/{area}/lowres.mat"),
        highres=first_area("results/simulated/{sample}/{area}/highres.mat"),
        truth=first_area("results/simulated/{sample}/{area}/truth.npz"),
    output:
        report(
            "results/figures/simulation_overview.png",
            category="Data",
            caption="../report/simulation_overview.rst",
        ),
    log:
        "results/logs/simulation_overview.log",
    benchmark:
        "results/benchmarks/simulation_overview.tsv"
    localrule: True
    conda:
        "../../envs/ramansr.yaml"
    script:
        "../scripts/simulation_overview.py"
