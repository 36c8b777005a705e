# The paper's figures, the supplementary ones and the training curves, each as PNG
# (registered in the report) and PDF. All of them are light: run them locally.


rule figure_workflow:
    output:
        png=report(
            "results/figures/fig1_workflow.png",
            category="Overview",
            caption="../report/fig1_workflow.rst",
        ),
        pdf="results/figures/fig1_workflow.pdf",
    log:
        "results/logs/figures/fig1_workflow.log",
    benchmark:
        "results/benchmarks/figures/fig1_workflow.tsv"
    localrule: True
    conda:
        "../../envs/ramansr.yaml"
    params:
        # relative, so that a moved or copied project does not redraw it
        snakefile=os.path.relpath(workflow.main_snakefile),
        configfiles=[os.path.relpath(path) for path in workflow.overwrite_configfiles],
    script:
        "../scripts/figure_workflow.py"


rule figure_decomposition:
    input:
        nmf=first_area("results/decomposition/{sample}/{area}/nmf.npz"),
        pca=first_area("results/decomposition/{sample}/{area}/pca.npz"),
        spectra=first_area("results/spectra/{sample}/{area}/lowres.npz"),
    output:
        png=report(
            "results/figures/fig2_decomposition.png",
            category="Decomposition",
            caption="../report/fig2_decomposition.rst",
        ),
        pdf="results/figures/fig2_decomposition.pdf",
    log:
        "results/logs/figures/fig2_decomposition.log",
    benchmark:
        "results/benchmarks/figures/fig2_decomposition.tsv"
    localrule: True
    conda:
        "../../envs/ramansr.yaml"
    params:
        title=FIRST_AREA_NAME,
    script:
        "../scripts/figure_decomposition.py"


rule figure_registration:
    input:
        nmf=first_area("results/decomposition/{sample}/{area}/nmf.npz"),
        registration=first_area("results/registration/{sample}/{area}.json"),
        selection=first_area("results/selection/{sample}/{area}.json"),
        spectra=first_area("results/spectra/{sample}/{area}/lowres.npz"),
    output:
        png=report(
            "results/figures/fig3_registration.png",
            category="Registration",
            caption="../report/fig3_registration.rst",
        ),
        pdf="results/figures/fig3_registration.pdf",
    log:
        "results/logs/figures/fig3_registration.log",
    benchmark:
        "results/benchmarks/figures/fig3_registration.tsv"
    localrule: True
    conda:
        "../../envs/ramansr.yaml"
    params:
        title=FIRST_AREA_NAME,
    script:
        "../scripts/figure_registration.py"


rule figure_examples:
    input:
        pairs="results/dataset/pairs.npz",
        split="results/dataset/split.csv",
        checkpoints=expand("results/models/{model}/best.pt", model=config["models"]),
        spectra=first_area("results/spectra/{sample}/{area}/lowres.npz"),
    output:
        png=report(
            "results/figures/examples_{split}.png",
            category="Super-resolution",
            caption="../report/examples.rst",
        ),
        pdf="results/figures/examples_{split}.pdf",
    log:
        "results/logs/figures/examples_{split}.log",
    benchmark:
        "results/benchmarks/figures/examples_{split}.tsv"
    wildcard_constraints:
        split="train|test",
    localrule: True
    # it runs the trained models
    conda:
        "../../envs/torch.yaml"
    params:
        models=list(config["models"]),
    script:
        "../scripts/figure_examples.py"


rule figure_smoothing:
    input:
        lowres=first_area("results/spectra/{sample}/{area}/lowres.npz"),
        highres=first_area("results/spectra/{sample}/{area}/highres.npz"),
    output:
        png=report(
            "results/figures/figS1_smoothing.png",
            category="Data",
            caption="../report/figS1_smoothing.rst",
        ),
        pdf="results/figures/figS1_smoothing.pdf",
    log:
        "results/logs/figures/figS1_smoothing.log",
    benchmark:
        "results/benchmarks/figures/figS1_smoothing.tsv"
    localrule: True
    conda:
        "../../envs/ramansr.yaml"
    params:
        title=FIRST_AREA_NAME,
    script:
        "../scripts/figure_smoothing.py"


rule figure_fourier:
    input:
        nmf=per_area("results/decomposition/{sample}/{area}/nmf.npz"),
        selection=per_area("results/selection/{sample}/{area}.json"),
    output:
        png=report(
            "results/figures/fourier_{scan}.png",
            category="Decomposition",
            caption="../report/fourier.rst",
        ),
        pdf="results/figures/fourier_{scan}.pdf",
    log:
        "results/logs/figures/fourier_{scan}.log",
    benchmark:
        "results/benchmarks/figures/fourier_{scan}.tsv"
    localrule: True
    conda:
        "../../envs/ramansr.yaml"
    script:
        "../scripts/figure_fourier.py"


rule figure_training_curves:
    input:
        histories=expand("results/models/{model}/history.csv", model=config["models"]),
    output:
        png=report(
            "results/figures/training_curves.png",
            category="Super-resolution",
            caption="../report/training_curves.rst",
        ),
        pdf="results/figures/training_curves.pdf",
    log:
        "results/logs/figures/training_curves.log",
    benchmark:
        "results/benchmarks/figures/training_curves.tsv"
    localrule: True
    conda:
        "../../envs/ramansr.yaml"
    params:
        models=list(config["models"]),
    script:
        "../scripts/figure_training_curves.py"
