# Shared helpers: config and samples validation, the sample/area list, paths.
import os
import sys
from pathlib import Path

import pandas as pd
from snakemake.utils import validate

validate(config, schema="../schemas/config.schema.yaml")

# Jobs import the ramansr package from this checkout, also inside --sdm conda
# environments, which do not install it.
os.environ.update(
    PYTHONPATH=os.pathsep.join(filter(None, [str(Path(workflow.basedir) / "src"), os.getenv("PYTHONPATH")]))
)
sys.path.insert(0, str(Path(workflow.basedir) / "src"))  # and so does the workflow itself

from ramansr.optics import DEFAULT_EXCITATION_NM, DEFAULT_HIGHRES_NA, DEFAULT_LOWRES_NA
from ramansr.processing import processing_settings
from ramansr.models import MODELS, is_joint
from ramansr.prediction import TEST_AREA_PREDICTION, area_prediction_name
from ramansr.sheet import check_unique_scans

SCANS = ["lowres", "highres"]
SIMULATED = config["source"] == "simulation"
# preprocess: offset as a dark-spectrum file (any string but the two keywords) is an input of every
# stage that removes it
OFFSET = config["preprocess"]["offset"]
DARK_SPECTRUM = [OFFSET] if isinstance(OFFSET, str) and OFFSET not in ("estimate", "none") else []
CROSS_VALIDATION = config["dataset"].get("cv") == "leave_one_sample_out"


def simulation_setting(key, subkey=None):
    """One simulation setting (``key``, or ``key: subkey``): the config's, else the simulator's default.

    The config's ``simulation:`` completed as the simulate jobs complete it
    (ramansr.simulate.settings.resolve_settings, where the defaults are written), imported on first use so
    that a run of your own scans does not load the simulator.
    """
    from ramansr.simulate.settings import resolve_settings

    value = resolve_settings(config["simulation"])[key]
    return value if subkey is None else value[subkey]


def simulated_channels():
    """The simulated scans' channel count."""
    return simulation_setting("channels")


def lowres_imaging():
    """The LR imaging model of prediction's consistency check: {lowres_na, excitation_nm}.

    With source: simulation the simulation's own; else predict: lowres_na and
    excitation_nm (absent or null: the defaults of ramansr.optics).
    """
    if SIMULATED:
        return {"lowres_na": simulation_setting("lowres", "na"), "excitation_nm": simulation_setting("excitation_nm")}
    given = {key: config["predict"].get(key) for key in ("lowres_na", "excitation_nm")}
    return {key: value for key, value in given.items() if value is not None}


def wiener_optics():
    """The optics of the Wiener baseline: the simulation's; for your own scans predict: lowres_na,
    highres_na and excitation_nm, absent or null: ramansr.optics' defaults (model_settings: wiener:
    model: overrides these). Its LR step is the run's, from the pair set, unless given there too."""
    if SIMULATED:
        return {
            "lowres_step_um": simulation_setting("lowres", "step_um"),
            "lowres_na": simulation_setting("lowres", "na"),
            "highres_na": simulation_setting("highres", "na"),
            "excitation_nm": simulation_setting("excitation_nm"),
        }
    defaults = {
        "lowres_na": DEFAULT_LOWRES_NA,
        "highres_na": DEFAULT_HIGHRES_NA,
        "excitation_nm": DEFAULT_EXCITATION_NM,
    }
    given = {key: config["predict"].get(key) for key in defaults}
    return {key: defaults[key] if given[key] is None else given[key] for key in defaults}


def check_config():
    """Refuse, before any job runs, the settings that the config alone shows cannot work."""
    problems = []
    named = [*config["models"], *(config.get("model_settings") or {}), config["predict"]["model"]]
    for name in dict.fromkeys(name for name in named if name not in MODELS):
        problems.append(
            f"models, model_settings or predict: model: {name!r} is not one of the known models: {', '.join(MODELS)}"
        )
    if SIMULATED and "simulation" not in config:
        problems.append("source: simulation needs a simulation: block (see config.yaml)")
    if not SIMULATED and "samples" not in config:
        problems.append("source: samples needs samples: (the path of the samples sheet)")
    if config["predict"]["model"] not in config["models"]:
        problems.append(f"predict: model: {config['predict']['model']} is not one of models: {config['models']}")
    joint = [name for name in config["models"] if name in MODELS and is_joint(name)]
    if joint and not config["dataset"]["group_by_area"]:
        problems.append(
            f"models: {joint} take all of an area's maps at once, which needs dataset: group_by_area: true "
            "(an area's maps all on one side of the split)"
        )
    if SIMULATED and "simulation" in config:
        channels = simulated_channels()
        for key in ("n_components", "pca_components"):
            if config["decompose"][key] > channels:
                problems.append(
                    f"decompose: {key}: {config['decompose'][key]} is more than the "
                    f"{channels} channels of the simulated scans (simulation: channels)"
                )
    if CROSS_VALIDATION and "linear" not in config["models"]:
        problems.append(
            "dataset: cv: leave_one_sample_out reports each model's gain over linear interpolation: "
            f"add linear to models: {config['models']}"
        )
    if problems:
        raise ValueError("config: " + "; ".join(problems))


def resolve_sheet_paths(sheet, sheet_path):
    """Scan paths of the sheet, relative ones taken from the sheet's own folder."""
    folder = os.path.dirname(sheet_path)
    for scan in SCANS:
        sheet[scan] = [os.path.normpath(os.path.join(folder, path)) for path in sheet[scan]]
    missing = [
        f"{row.sample}/{row.area} {scan} {getattr(row, scan)}"
        for row in sheet.itertuples()
        for scan in SCANS
        if not os.path.isfile(getattr(row, scan))
    ]
    if missing:
        raise ValueError(
            f"{sheet_path}: no such file (relative paths are read from the sheet's folder): " + "; ".join(missing)
        )
    return sheet


def load_samples():
    """The (sample, area) table: from the simulation settings or the user's samples sheet."""
    if SIMULATED:
        samples, areas = simulation_setting("samples"), simulation_setting("areas")
        rows = [{"sample": s, "area": str(a)} for s in samples for a in range(1, areas + 1)]
        return pd.DataFrame(rows).set_index(["sample", "area"], drop=False)
    sheet = pd.read_csv(config["samples"], sep=None, engine="python", dtype=str, comment="#")
    try:
        validate(sheet, schema="../schemas/samples.schema.yaml")
    except Exception as error:
        raise ValueError(f"{config['samples']}: not a valid samples sheet: {error}") from error
    duplicated = sheet.duplicated(["sample", "area"])
    if duplicated.any():
        raise ValueError(
            f"{config['samples']}: (sample, area) listed twice: "
            f"{sheet.loc[duplicated, ['sample', 'area']].values.tolist()}"
        )
    sheet = resolve_sheet_paths(sheet, config["samples"])
    check_unique_scans(sheet, config["samples"], SCANS)
    return sheet.set_index(["sample", "area"], drop=False)


def check_areas(areas):
    """Refuse a run with too few areas to train and test on."""
    where = config["samples"] if not SIMULATED else "simulation: samples x areas"
    if not areas:
        raise ValueError(f"{where}: lists no area")
    if config["dataset"]["group_by_area"] and len(areas) < 3:
        raise ValueError(
            f"{where}: {len(areas)} area(s) {[f'{s}/{a}' for s, a in areas]}, but "
            "dataset: group_by_area: true puts each area wholly in train, val or test, "
            "so a run needs at least 3 areas; list more, or set group_by_area: false"
        )


def check_cross_validation(areas):
    """Refuse a cross-validation over samples with a single sample: no fold would have data to train on."""
    where = config["samples"] if not SIMULATED else "simulation: samples"
    held_out = sorted({sample for sample, _ in areas})
    if CROSS_VALIDATION and len(held_out) < 2:
        raise ValueError(
            f"{where}: dataset: cv: leave_one_sample_out holds out one sample per fold and trains on the others, "
            f"but the run has only sample(s) {held_out}; list more samples, or set dataset: cv: null"
        )


check_config()
samples = load_samples()
AREAS = list(samples.index)
check_areas(AREAS)
check_cross_validation(AREAS)


wildcard_constraints:
    sample="[A-Za-z0-9][A-Za-z0-9_-]*",
    fold="[A-Za-z0-9][A-Za-z0-9_-]*",
    area="[A-Za-z0-9][A-Za-z0-9_-]*",
    scan="lowres|highres",
    model="|".join(config["models"]),


def area_scan(sample, area, scan):
    """The .mat file of one scan: simulated, or the path in the samples sheet."""
    if SIMULATED:
        return f"results/simulated/{sample}/{area}/{scan}.mat"
    return samples.loc[(sample, area), scan]


def scan_image_shape(sample, area, scan):
    """The sheet's optional '{scan}_shape' cell ('rows x cols'), for Table exports without header; else None."""
    column = f"{scan}_shape"
    if SIMULATED or column not in samples.columns:
        return None
    value = samples.loc[(sample, area), column]
    return None if pd.isna(value) else str(value)


def get_scan_file(wildcards, scan=None):
    """:func:`area_scan` of the job's sample and area (and scan, unless given)."""
    return area_scan(wildcards.sample, wildcards.area, scan or wildcards.scan)


def test_areas():
    """The (sample, area) pairs of the test split; known once the dataset checkpoint has run."""
    split = checkpoints.dataset.get().output.split
    table = pd.read_csv(split, dtype=str)
    tested = table.loc[table["split"] == "test", ["sample", "area"]].drop_duplicates()
    return [tuple(row) for row in tested.itertuples(index=False)]


def get_test_area_checks(wildcards):
    """The prediction check of every test area."""
    return [f"results/predictions/{area_prediction_name(s, a)}/check.json" for s, a in test_areas()]


def get_prediction_calibration(wildcards):
    """The predicting model's calibration (the uncertainty stage's) when uncertainty: enabled and the model
    is calibrated (not a joint one); else none: the prediction has no uncertainty."""
    model = config["predict"]["model"]
    if config["uncertainty"]["enabled"] and not is_joint(model):
        return f"results/models/{model}/calibration.json"
    return []


def scan_to_predict(name):
    """{path, shape, variable, allow_step_mismatch} of an LR-only scan listed under predict: scans, or of
    a test area's LR scan."""
    scans = config["predict"]["scans"]
    if name in scans:
        entry = scans[name]
        entry = {"path": entry} if isinstance(entry, str) else entry
        return {"shape": None, "variable": config.get("mat_variable"), "allow_step_mismatch": False, **entry}
    for sample, area in AREAS:
        if name == area_prediction_name(sample, area):
            return {
                "path": area_scan(sample, area, "lowres"),
                "shape": scan_image_shape(sample, area, "lowres"),
                "variable": None if SIMULATED else config.get("mat_variable"),
                "allow_step_mismatch": False,
            }
    raise ValueError(f"no scan to predict is named {name!r}: list it under predict: scans")


def get_scan_to_predict(wildcards):
    """The file of the scan the job predicts."""
    return scan_to_predict(wildcards.name)["path"]


def get_scan_read_options(wildcards):
    """How to read the scan the job predicts: its grid ('rows x cols' or None), map name (or None), and
    whether a pixel size other than the trained LR step is allowed."""
    entry = scan_to_predict(wildcards.name)
    return {
        "image_shape": entry["shape"],
        "variable": entry["variable"],
        "allow_step_mismatch": entry["allow_step_mismatch"],
    }


def per_area(pattern):
    """Expand a path pattern with {sample} and {area} over every area."""
    return [pattern.format(sample=s, area=a) for s, a in AREAS]


def get_area_step(wildcards, scan):
    """The pixel size (um) in the samples sheet's optional {scan}_step_um column for the job's area; else None."""
    column = f"{scan}_step_um"
    if SIMULATED or column not in samples.columns:
        return None
    value = samples.loc[(wildcards.sample, wildcards.area), column]
    return None if pd.isna(value) else float(value)


def model_settings(name):
    """Training settings for one model: the shared ones, overridden by the model's own; the Wiener
    baseline's ``model`` and pretraining's ``imaging`` start from the optics (:func:`wiener_optics`)."""
    settings = {**config["training"], **(config.get("model_settings", {}).get(name) or {})}
    if name == "wiener":
        settings["model"] = {**wiener_optics(), **(settings.get("model") or {})}
    pretrain = settings.get("pretrain")
    if pretrain and pretrain.get("enabled"):
        # pretraining images its synthetic pairs with the run's optics (the LR step: the pair set's, for your scans)
        settings["pretrain"] = {**pretrain, "imaging": {**wiener_optics(), **(pretrain.get("imaging") or {})}}
    return settings


def model_checkpoint(name, fold=None):
    """A trained model's checkpoint: the run's, or a cross-validation fold's."""
    return f"results/cv/{fold}/models/{name}/best.pt" if fold else f"results/models/{name}/best.pt"


def get_srgan_init(wildcards):
    """SRGAN's generator starts from the trained SRResNet (the same fold's) when that is in the run."""
    if wildcards.model == "srgan" and "srresnet" in config["models"]:
        return model_checkpoint("srresnet", wildcards.get("fold"))
    return []


def cv_folds():
    """The cross-validation's folds: every sample with pairs (known once the dataset checkpoint has run)."""
    table = pd.read_csv(checkpoints.dataset.get().output.split, dtype=str)
    return list(dict.fromkeys(table["sample"]))


def get_cv_metrics(wildcards):
    """Every fold's per-image scores of every model, fold by fold."""
    return [f"results/cv/{fold}/metrics/{model}.csv" for fold in cv_folds() for model in config["models"]]


def get_cv_metric_folds(wildcards):
    """The fold of each of :func:`get_cv_metrics`' files."""
    return [fold for fold in cv_folds() for _ in config["models"]]


def get_cv_splits(wildcards):
    return [f"results/cv/{fold}/split.csv" for fold in cv_folds()]


def final_outputs():
    outputs = [
        "results/tables/train.csv",
        "results/tables/test.csv",
        "results/tables/prediction.csv",
        "results/tables/selection.csv",
    ]
    outputs += [f"results/predictions/{name}/cube.mat" for name in config["predict"]["scans"]]
    outputs += figure("spectral_fidelity")
    if SIMULATED:
        outputs += ["results/figures/simulation_overview.png"]
    if CROSS_VALIDATION:
        outputs += ["results/tables/cv.csv", "results/tables/cv.md"] + figure("cv_gain")
    if config["uncertainty"]["enabled"]:
        outputs += ["results/tables/uncertainty.csv", "results/tables/uncertainty.md"]
        if CROSS_VALIDATION:
            outputs += ["results/tables/cv_uncertainty.csv", "results/tables/cv_uncertainty.md"]
    return outputs + ["results/tables/registration.csv"]


# The single-area figures show the first area.
FIRST_SAMPLE, FIRST_AREA = AREAS[0]
FIRST_AREA_NAME = f"(sample {FIRST_SAMPLE}, area {FIRST_AREA})"


def figure(name):
    """The PNG and PDF paths of one figure."""
    return [f"results/figures/{name}.png", f"results/figures/{name}.pdf"]


def first_area(pattern):
    """A per-area path pattern filled in for the first area, the one the single-area figures show."""
    return pattern.format(sample=FIRST_SAMPLE, area=FIRST_AREA)


def report_outputs():
    """Every figure file this module makes (PNG and PDF), for rule all."""
    names = [
        "fig1_workflow",
        "fig2_decomposition",
        "fig3_registration",
        "examples_train",
        "examples_test",
        "figS1_smoothing",
        "fourier_lowres",
        "fourier_highres",
        "training_curves",
    ]
    return [path for name in names for path in figure(name)]
