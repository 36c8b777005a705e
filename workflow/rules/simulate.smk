# The embedded default data: paired LR/HR scans from the simulator, with their truth.


rule simulate:
    output:
        lowres="results/simulated/{sample}/{area}/lowres.mat",
        highres="results/simulated/{sample}/{area}/highres.mat",
        truth="results/simulated/{sample}/{area}/truth.npz",
    params:
        settings=config["simulation"],
    log:
        "results/logs/simulate/{sample}/{area}.log",
    benchmark:
        "results/benchmarks/simulate/{sample}/{area}.tsv"
    script:
        "../scripts/simulate.py"


rule simulation_overview:
    input:
        lowres=f"results/simulated/{AREAS[0][0]}/{AREAS[0][1]}/lowres.mat",
        highres=f"results/simulated/{AREAS[0][0]}/{AREAS[0][1]}/highres.mat",
        truth=f"results/simulated/{AREAS[0][0]}/{AREAS[0][1]}/truth.npz",
    output:
        "results/figures/simulation_overview.png",
    log:
        "results/logs/simulation_overview.log",
    benchmark:
        "results/benchmarks/simulation_overview.tsv"
    script:
        "../scripts/simulation_overview.py"
