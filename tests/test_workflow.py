"""End to end: the .test config through the whole pipeline, then what reruns after changes."""

import base64
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import copy_repo
from workflow_helpers import TEST_CONFIG, areas_of, planned_jobs, rules_of, snakemake

from ramansr.io import read_scan, write_scan
from ramansr.prediction import area_prediction_name

pytestmark = pytest.mark.slow

MODELS = ["linear", "bicubic", "wiener", "srcnn", "srresnet", "srgan", "rcan"]
PER_AREA_RULES = {"convert", "preprocess", "decompose", "clean_maps", "register", "select"}


@pytest.fixture(scope="module")
def finished_run(local_test_run):
    """The complete local run of the .test config (shared with the SLURM test)."""
    return local_test_run.wait()


@pytest.fixture
def run_copy(finished_run, tmp_path):
    """A private copy of the finished run (results and Snakemake's records), to change freely."""
    shutil.copytree(finished_run, tmp_path / "run", symlinks=True)
    return tmp_path / "run"


def read_table(path):
    return pd.read_csv(path, index_col=[0, 1, 2, 3])


def test_tables_have_a_column_per_model_and_plausible_scores(finished_run):
    for split in ("train", "test"):
        table = read_table(finished_run / f"results/tables/{split}.csv")
        labels = ["Linear interpolation", "Bicubic", "Wiener deconvolution", "SRCNN", "RCAN", "SRGAN", "SRResNet"]
        assert list(table.columns[:7]) == labels
        psnr = table.loc[("measured", "common", "PSNR (dB)", "mean")]
        ssim = table.loc[("measured", "common", "SSIM", "mean")]
        assert np.isfinite(psnr[:7]).all() and np.isfinite(ssim[:7]).all()
        # interpolation of a 4x coarser map: far from perfect, far from random
        assert 10 < psnr["Linear interpolation"] < 45
        assert 0.2 < ssim["Linear interpolation"] < 1
        ceiling = table.loc[("clean", "common", "PSNR (dB)", "mean"), "Measured HR (ceiling)"]
        assert ceiling > psnr["Linear interpolation"]
        assert np.isfinite(table.loc[("measured", "minmax", "PSNR (dB)", "mean")][:7]).all()
    per_image = pd.read_csv(finished_run / "results/tables/per_image.csv")
    assert set(per_image["model"]) == set(MODELS) | {"measured_hr"}
    markdown = (finished_run / "results/tables/test.md").read_text()
    assert "Table II" in markdown and "28.93" in markdown


def test_registration_table_against_the_truth(finished_run):
    table = pd.read_csv(finished_run / "results/tables/registration.csv")
    assert len(table) == 4
    assert np.isfinite(table["error"]).all()
    # most areas are found to within a couple of HR pixels even at the test's small size
    assert (table["error"] < 2).sum() >= 3


def test_test_areas_are_predicted_and_checked_against_their_hr_scans(finished_run):
    split = pd.read_csv(finished_run / "results/dataset/split.csv", dtype=str)
    test_areas = set(map(tuple, split.loc[split["split"] == "test", ["sample", "area"]].values))
    table = pd.read_csv(finished_run / "results/tables/prediction.csv", dtype={"area": str})
    assert set(zip(table["sample"], table["area"], strict=True)) == test_areas
    assert (table["band"] == "2850-3050").all()  # the config's predict: band, not a code constant
    assert np.isfinite(
        table[["bicubic_psnr", "linear_psnr", "bicubic_psnr_common", "linear_psnr_common"]].to_numpy()
    ).all()
    sample, area = sorted(test_areas)[0]
    prediction = finished_run / "results/predictions" / area_prediction_name(sample, area)
    cube = read_scan(prediction / "cube.mat")
    lowres = read_scan(finished_run / f"results/simulated/{sample}/{area}/lowres.mat")
    assert cube.cube.shape == (4 * lowres.cube.shape[0], 4 * lowres.cube.shape[1], lowres.cube.shape[2])
    np.testing.assert_allclose(cube.pixel_size_um, np.asarray(lowres.pixel_size_um) / 4)
    # in the LR scan's units, less the detector offset the chain removed: the same mean spectrum
    with np.load(prediction / "maps.npz") as maps:
        offset = json.loads(str(maps["settings"]))["offset"]
    assert offset > 500  # the simulated detector's 600-count bias, estimated
    assert cube.cube.mean() == pytest.approx(lowres.cube.mean() - offset, rel=0.15)


def test_test_area_predictions_are_checked_at_every_channel_and_for_lr_consistency(finished_run):
    table = pd.read_csv(finished_run / "results/tables/prediction.csv", dtype={"area": str})
    spectral = [
        "bicubic_channel_psnr",
        "linear_channel_psnr",
        "bicubic_spectral_angle_deg",
        "linear_spectral_angle_deg",
    ]
    assert np.isfinite(table[spectral].to_numpy()).all()
    assert ((table[spectral[2:]] >= 0) & (table[spectral[2:]] < 90)).all().all()
    maps = pd.read_csv(finished_run / "results/tables/consistency.csv", dtype={"area": str})
    assert len(maps) == 3 * len(table)  # every component map of every test area
    assert np.isfinite(maps[["consistency_psnr", "true_psnr"]].to_numpy()).all()
    assert not maps["flagged"].any()  # the test areas set the range
    markdown = (finished_run / "results/tables/prediction.md").read_text()
    assert "Spearman rank correlation of consistency and true PSNR over the 3 test maps" in markdown
    assert "No prediction is flagged." in markdown
    # the predicting model (bicubic) is calibrated: every test map has its predicted RMSE beside the true one
    assert (maps["predicted_rmse"] > 0).all() and (maps["true_rmse"] > 0).all()
    np.testing.assert_allclose(maps["true_rmse"], 10 ** (-maps["true_psnr"] / 20))
    assert not maps["flagged_rmse"].any()  # uncertainty: threshold_rmse is null in .test
    assert "Predicted RMSE of every prediction" in markdown and "no map is flagged" in markdown
    for name in set(maps["prediction"]):
        with np.load(finished_run / "results/predictions" / name / "maps.npz") as arrays:
            predicted, lower, upper = arrays["predicted_maps"], arrays["lower"], arrays["upper"]
            assert arrays["uncertainty"].shape == predicted.shape and arrays["uncertainty_level"] == 0.9
            assert (lower <= predicted).all() and (predicted <= upper).all()
            np.testing.assert_allclose(
                arrays["predicted_rmse"], maps.loc[maps["prediction"] == name, "predicted_rmse"], rtol=1e-6
            )
    assert (finished_run / "results/figures/spectral_fidelity.png").stat().st_size > 0


def test_every_model_is_calibrated_and_its_test_maps_scored_for_uncertainty(finished_run):
    """Each model's calibration.json (weights, conformal quantile) and a row per test map in uncertainty.csv."""
    table = pd.read_csv(finished_run / "results/tables/uncertainty.csv", dtype={"sample": str, "area": str})
    split = pd.read_csv(finished_run / "results/dataset/split.csv", dtype={"sample": str, "area": str})
    tested = set(split.loc[split["split"] == "test", "pair_id"])
    assert list(dict.fromkeys(table["model"])) == MODELS
    for model in MODELS:
        assert set(table.loc[table["model"] == model, "pair_id"]) == tested
        calibration = json.loads((finished_run / f"results/models/{model}/calibration.json").read_text())
        assert calibration["level"] == 0.9 and calibration["pixels"] > 0 and 0 < calibration["quantile"] < np.inf
        assert set(calibration["weights"]) == {"bootstrap", "gradient"} and min(calibration["weights"].values()) >= 0
    assert (table[["predicted_rmse", "true_rmse"]] > 0).all(axis=None) and table["coverage_90"].between(0, 1).all()
    assert "Spearman" in (finished_run / "results/tables/uncertainty.md").read_text()


def test_the_report_embeds_every_figure_and_table(run_copy):
    snakemake(run_copy, "--report", "results/report.html")
    html = (run_copy / "results/report.html").read_text()
    registered = sorted((run_copy / "results/figures").glob("*.png")) + sorted(
        (run_copy / "results/tables").glob("*.csv")
    )
    assert len(registered) >= 15
    for path in registered:
        relative = path.relative_to(run_copy).as_posix()
        match = re.search(
            re.escape(f'"{relative}": {{') + r'.*?"data_uri": "data:[^"]*;base64,([A-Za-z0-9+/=]+)"', html
        )
        assert match, f"{relative} is not in the report"
        assert base64.b64decode(match.group(1)) == path.read_bytes()
    assert "system-message" not in html  # a caption that failed to render


def test_a_joint_model_added_to_a_finished_run_is_trained_and_scored_per_map(run_copy):
    """The joint model needs only its own training and scoring and the tables; it gets a column of its own."""
    import torch

    models = "models=" + json.dumps([*MODELS, "srcnn_joint"])
    jobs = planned_jobs(run_copy, "results/tables/test.csv", "--config", models)
    assert jobs == {("train", (("model", "srcnn_joint"),)), ("evaluate", (("model", "srcnn_joint"),)), ("tables", ())}
    snakemake(run_copy, "--cores", "2", "results/tables/test.csv", "--config", models)
    assert torch.load(run_copy / "results/models/srcnn_joint/best.pt", weights_only=True)["joint_maps"] == 3
    for split in ("train", "test"):
        table = read_table(run_copy / f"results/tables/{split}.csv")
        assert np.isfinite(table.loc[("measured", "common", "PSNR (dB)", "mean"), "SRCNN (joint)"])
        counts = table.loc[("measured", "common", "PSNR (dB)", "n")]
        assert counts["SRCNN (joint)"] == counts["SRCNN"]  # one score per map, as the others
    per_image = pd.read_csv(run_copy / "results/tables/per_image.csv")
    keys = ["pair_id", "component", "split", "reference", "scale"]
    joint, single = (per_image[per_image["model"] == name][keys] for name in ("srcnn_joint", "srcnn"))
    pd.testing.assert_frame_equal(joint.reset_index(drop=True), single.reset_index(drop=True))
    # and a split that may part an area's maps is refused before any job runs
    config = yaml.safe_load((run_copy / TEST_CONFIG).read_text())
    config["dataset"]["group_by_area"] = False
    (run_copy / TEST_CONFIG).write_text(yaml.safe_dump(config, sort_keys=False))
    result = snakemake(run_copy, "--dry-run", "--config", models, check=False)
    assert result.returncode != 0
    assert "['srcnn_joint'] take all of an area's maps at once" in result.stdout + result.stderr


def test_training_uses_the_jobs_threads_not_every_core(finished_run, run_copy):
    """torch runs on the threads Snakemake gives the job (profiles/default: all cores; the rule asks for 8)."""
    log = max((finished_run / ".snakemake/log").glob("*.log"), key=lambda path: path.stat().st_size).read_text()
    given = re.search(r"rule train:\n(?:    .*\n)*?    wildcards: model=srcnn\n    threads: (\d+)", log)
    trained = json.loads((finished_run / "results/models/srcnn/summary.json").read_text())
    assert trained["cpu_threads"] == int(given.group(1))
    snakemake(run_copy, "--cores", "1", "--forcerun", "train", "results/models/srcnn/best.pt")
    retrained = json.loads((run_copy / "results/models/srcnn/summary.json").read_text())
    assert retrained["cpu_threads"] == 1 and retrained["epochs_completed"] == retrained["settings"]["epochs"]


def test_a_second_run_does_nothing(finished_run):
    assert planned_jobs(finished_run) == set()


def test_replacing_one_lr_file_reruns_only_that_area(run_copy):
    path = run_copy / "results/simulated/A/1/lowres.mat"
    scan = read_scan(path)
    scan.cube = scan.cube * np.float32(1.05)
    write_scan(scan, path, format="witec")
    jobs = planned_jobs(run_copy)
    assert areas_of(jobs) == {("A", "1")}
    assert rules_of(jobs) >= PER_AREA_RULES
    assert {"dataset", "train", "evaluate", "tables"} <= rules_of(jobs)
    assert "simulate" not in rules_of(jobs)


def test_touching_a_file_without_changing_it_reruns_nothing(run_copy):
    path = run_copy / "results/simulated/F/2/lowres.mat"
    later = time.time() + 5
    os.utime(path, (later, later))
    assert planned_jobs(run_copy) == set()


def test_changing_one_stage_parameter_reruns_that_stage_and_what_follows(run_copy):
    config = yaml.safe_load((run_copy / TEST_CONFIG).read_text())
    config["select"]["min_snr_db"] = 5.0
    (run_copy / TEST_CONFIG).write_text(yaml.safe_dump(config, sort_keys=False))
    rules = rules_of(planned_jobs(run_copy))
    assert "select" in rules and {"dataset", "train", "evaluate", "tables"} <= rules
    assert not rules & {"simulate", "convert", "preprocess", "decompose", "clean_maps", "register"}


def test_a_killed_run_resumes_and_gives_the_same_tables(finished_run, run_copy):
    """The networks trained again in a copy of the finished run, killed mid-training, resumed."""
    workdir = run_copy
    networks = ("srcnn", "srresnet", "srgan", "rcan")
    # Without their scores and tables, Snakemake must train them again (resume files gone too).
    for name in networks:
        shutil.rmtree(workdir / "results/models" / name)
        (workdir / "results/metrics" / f"{name}.csv").unlink()
    for name in ("train.csv", "test.csv"):
        (workdir / "results/tables" / name).unlink()
    target = "results/tables/test.csv"  # the figures would only add jobs
    command = [sys.executable, "-m", "snakemake", "--configfile", TEST_CONFIG, "--cores", "2", target]
    process = subprocess.Popen(
        command, cwd=workdir, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    # kill the whole run hard once a model has checkpointed its first epoch
    deadline = time.time() + 600
    trained = [workdir / "results/models" / name / "last.pt" for name in networks]
    while not any(path.exists() for path in trained) and time.time() < deadline:
        if process.poll() is not None:
            pytest.fail("the run ended before it could be killed")
        time.sleep(0.5)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    assert not (workdir / "results/tables/test.csv").exists()
    snakemake(workdir, "--unlock")  # a hard kill leaves the working directory locked
    snakemake(workdir, "--cores", "2", "--rerun-incomplete", target)
    for name in ("train.csv", "test.csv"):
        resumed = read_table(workdir / "results/tables" / name)
        uninterrupted = read_table(finished_run / "results/tables" / name)
        pd.testing.assert_frame_equal(resumed, uninterrupted, rtol=1e-6)


def samples_sheet_copy(finished_run, tmp_path, sheet_text):
    """A fresh working copy whose config reads the finished run's simulated scans through a samples sheet."""
    workdir = copy_repo(tmp_path / "sheet")
    data = workdir / "data"
    shutil.copytree(finished_run / "results/simulated", data)
    (workdir / "samples.tsv").write_text(sheet_text)
    config = yaml.safe_load((workdir / TEST_CONFIG).read_text())
    config.update(source="samples", samples="samples.tsv")
    (workdir / TEST_CONFIG).write_text(yaml.safe_dump(config))
    return workdir


def test_a_samples_sheet_brings_the_users_own_files(finished_run, tmp_path):
    sheet = "sample\tarea\tlowres\thighres\n" + "".join(
        f"{s}\t{a}\tdata/{s}/{a}/lowres.mat\tdata/{s}/{a}/highres.mat\n"
        for s, a in [("A", "1"), ("A", "2"), ("F", "2")]
    )
    jobs = planned_jobs(samples_sheet_copy(finished_run, tmp_path, sheet))
    assert "simulate" not in rules_of(jobs) and "clean_maps" not in rules_of(jobs)
    assert areas_of(jobs) == {("A", "1"), ("A", "2"), ("F", "2")}
    assert {"convert", "decompose", "register", "select", "dataset", "train", "tables"} <= rules_of(jobs)


def test_a_bad_samples_sheet_is_named_in_the_error(finished_run, tmp_path):
    workdir = samples_sheet_copy(finished_run, tmp_path, "sample\tarea\tlowres\nA\t1\tdata/A/1/lowres.mat\n")
    result = snakemake(workdir, "--dry-run", check=False)
    assert result.returncode != 0
    assert "highres" in result.stdout + result.stderr


# --------------------------------------------------------------------------- a lab's geometry

FACTOR3_CONFIG = ".test/factor3.yaml"


@pytest.fixture(scope="module")
def factor3_run(tmp_path_factory):
    """The .test config at 1.5 um / 0.5 um steps (factor 3), non-square scans, cosmic rays on."""
    from conftest import PipelineRun

    run = PipelineRun(
        copy_repo(tmp_path_factory.mktemp("factor3") / "repo"), ["--configfile", TEST_CONFIG, FACTOR3_CONFIG]
    )
    try:
        yield run.wait()
    finally:
        run.stop()


def test_a_factor_3_run_with_non_square_scans_and_spikes(factor3_run):
    import json

    geometry = json.loads((factor3_run / "results/geometry.json").read_text())
    assert geometry["factor"] == 3 and not any(area["resample"] for area in geometry["areas"])
    registration = pd.read_csv(factor3_run / "results/tables/registration.csv")
    assert len(registration) == 4 and (registration["error"] <= 0.5).all(), registration
    with np.load(factor3_run / "results/dataset/pairs.npz") as pairs:
        assert int(pairs["factor"]) == 3
        assert pairs["lowres"].shape[1:] == (18, 22) and pairs["highres"].shape[1:] == (27, 36)
    test = read_table(factor3_run / "results/tables/test.csv")
    psnr = test.loc[("measured", "common", "PSNR (dB)", "mean")]
    ssim = test.loc[("measured", "common", "SSIM", "mean")]
    models = ["Linear interpolation", "Bicubic", "SRGAN", "SRResNet"]  # .test/factor3.yaml's
    assert list(psnr.dropna().index) == models
    assert np.isfinite(psnr[models]).all() and np.isfinite(ssim[models]).all()
    # at a wrong factor (issue 16: pairs made at 3, scored at 4) interpolation scored 10-13 dB
    assert psnr["Linear interpolation"] > 18
    logs = [path.read_text() for path in (factor3_run / "results/logs/preprocess").rglob("*.log")]
    spikes = [int(m) for log in logs for m in re.findall(r"(\d+) cosmic-ray spikes found", log)]
    assert len(spikes) == 8 and sum(spikes) > 0
    predicted = next((factor3_run / "results/predictions").glob(area_prediction_name("*", "*") + "/cube.mat"))
    assert read_scan(predicted).cube.shape[:2] == (3 * 18, 3 * 22)


def test_the_old_register_factor_setting_is_refused(tmp_path):
    """A factor set by hand can no longer disagree with the data (issue 16: a factor-3 run ended in exit 0)."""
    workdir = copy_repo(tmp_path / "old_factor")
    config = yaml.safe_load((workdir / TEST_CONFIG).read_text())
    config["register"]["factor"] = 3
    (workdir / TEST_CONFIG).write_text(yaml.safe_dump(config))
    result = snakemake(workdir, "--dry-run", check=False)
    assert result.returncode != 0
    assert "factor" in result.stdout + result.stderr
