"""Bad sheets, bad configs and faults against the whole pipeline (issue 16).

Every bad input must end in a non-zero exit whose message names the file,
area or config key, with the inputs byte-identical afterwards and no output
a rerun would trust. The table-driven cases are dry runs (``snakemake -n``:
the refusals happen when the workflow is parsed, before any job); the fault
cases run the .test pipeline and are marked slow. The kill -9 fault case is
tests/test_workflow.py::test_a_killed_run_resumes_and_gives_the_same_tables.
"""

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import textwrap

import pandas as pd
import pytest
import yaml
from conftest import copy_repo
from workflow_helpers import TEST_CONFIG, planned_jobs, snakemake

from ramansr.simulate.settings import default_settings

AREAS = [("A", "1"), ("A", "2"), ("B", "1")]


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    """One working copy for the dry-run cases, with placeholder scans (a dry run never reads them)."""
    workdir = copy_repo(tmp_path_factory.mktemp("bad_inputs") / "repo")
    for sample, area in AREAS:
        for scan in ("lowres", "highres"):
            path = workdir / "data" / sample / area / f"{scan}.mat"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(f"placeholder {sample}/{area}/{scan}".encode())  # distinct: copies are refused
    path = workdir / "data" / "copy_of_A_1_highres.mat"
    path.write_bytes((workdir / "data/A/1/highres.mat").read_bytes())
    return workdir


def sheet(rows, columns=("sample", "area", "lowres", "highres"), prefix="data"):
    lines = ["\t".join(columns)] + ["\t".join(row) for row in rows]
    return "\n".join(lines) + "\n"


def area_rows(areas=AREAS, prefix="data"):
    return [(s, a, f"{prefix}/{s}/{a}/lowres.mat", f"{prefix}/{s}/{a}/highres.mat") for s, a in areas]


SAMPLES = {"source": "samples", "samples": "case/samples.tsv"}

# name: (config overlay on .test/config.yaml, samples sheet or None, what the message must contain)
CASES = {
    "sheet with a missing file": (
        SAMPLES,
        sheet([*area_rows(prefix="../data"), ("B", "2", "../data/B/2/lowres.mat", "../data/A/1/highres.mat")]),
        ["case/samples.tsv", "no such file", ": B/2 lowres data/B/2/lowres.mat"],
    ),
    "sheet listing an area twice": (
        SAMPLES,
        sheet(area_rows(prefix="../data") + area_rows([("A", "1")], prefix="../data")),
        ["case/samples.tsv", "listed twice", "['A', '1']"],
    ),
    "sheet listing one scan pair under two area names": (
        SAMPLES,
        sheet([*area_rows(prefix="../data"), ("A", "01", "../data/A/1/lowres.mat", "../data/A/1/highres.mat")]),
        [
            "case/samples.tsv",
            "listed twice",
            "A/1 lowres (data/A/1/lowres.mat) and A/01 lowres (data/A/1/lowres.mat) are the same file",
            "A/1 highres (data/A/1/highres.mat) and A/01 highres",
        ],
    ),
    "sheet listing a copy of a scan under another name": (
        SAMPLES,
        sheet([*area_rows(prefix="../data"), ("B", "2", "../data/A/2/lowres.mat", "../data/copy_of_A_1_highres.mat")]),
        [
            "case/samples.tsv",
            "A/1 highres (data/A/1/highres.mat) and B/2 highres (data/copy_of_A_1_highres.mat) have the same content",
            "A/2 lowres (data/A/2/lowres.mat) and B/2 lowres (data/A/2/lowres.mat) are the same file",
        ],
    ),
    "sheet without a highres column": (
        SAMPLES,
        sheet([row[:3] for row in area_rows(prefix="../data")], columns=("sample", "area", "lowres")),
        ["case/samples.tsv", "not a valid samples sheet", "highres"],
    ),
    "sheet with paths relative to the working directory": (
        SAMPLES,
        sheet(area_rows()),
        ["case/samples.tsv", "relative paths are read from the sheet's folder", "case/data/A/1/lowres.mat"],
    ),
    "sheet with a single area": (
        SAMPLES,
        sheet(area_rows([("A", "1")], prefix="../data")),
        ["case/samples.tsv", "1 area(s) ['A/1']", "dataset: group_by_area", "at least 3 areas"],
    ),
    "sheet with no area": (
        {**SAMPLES, "dataset": {"group_by_area": False}},
        sheet([]),
        ["case/samples.tsv", "lists no area"],
    ),
    "sheet with an unsafe sample name": (
        SAMPLES,
        sheet([("A 1", "1", "../data/A/1/lowres.mat", "../data/A/1/highres.mat")]),
        ["case/samples.tsv", "does not match"],
    ),
    "misspelt config key": ({"trainig": {"epochs": 2}}, None, ["'trainig' was unexpected"]),
    "wrong type of a setting": ({"training": {"epochs": "ten"}}, None, ["'ten' is not of type 'integer'", "epochs"]),
    "unknown model": ({"models": ["linear", "esrgan"]}, None, ["'esrgan' is not one of"]),
    "model listed twice": ({"models": ["linear", "linear"]}, None, ["has non-unique elements"]),
    "predicting with a model that is not run": (
        {"models": ["linear", "srcnn"]},
        None,
        ["predict: model: bicubic is not one of models: ['linear', 'srcnn']"],
    ),
    "more components than channels": (
        {"decompose": {"n_components": 200}},
        None,
        ["decompose: n_components: 200 is more than the 160 channels", "simulation: channels"],
    ),
    "a single simulated area": (
        {"simulation": {"samples": ["A"], "areas": 1}},
        None,
        ["simulation: samples x areas", "1 area(s) ['A/1']", "at least 3 areas"],
    ),
    "cross-validation without linear": (
        {"dataset": {"cv": "leave_one_sample_out"}, "models": ["bicubic", "srcnn"]},
        None,
        ["dataset: cv: leave_one_sample_out", "gain over linear", "add linear to models: ['bicubic', 'srcnn']"],
    ),
    "cross-validation over a single sample": (
        {"simulation": {"samples": ["A"], "areas": 3}, "dataset": {"cv": "leave_one_sample_out"}},
        None,
        ["simulation: samples", "only sample(s) ['A']", "dataset: cv: null"],
    ),
    "unknown cross-validation": ({"dataset": {"cv": "k_fold"}}, None, ["'k_fold' is not one of", "cv"]),
}


def input_hashes(workdir):
    """SHA-256 of every input a case could touch: configs, sheets, data."""
    paths = [workdir / "config.yaml", workdir / TEST_CONFIG]
    paths += sorted((workdir / "data").rglob("*")) + sorted((workdir / "case").rglob("*"))
    return {str(p): hashlib.sha256(p.read_bytes()).hexdigest() for p in paths if p.is_file()}


def dry_run(workdir, *configs):
    command = [sys.executable, "-m", "snakemake", "--dry-run", "--configfile", TEST_CONFIG, *configs]
    return subprocess.run(command, cwd=workdir, capture_output=True, text=True, timeout=300)


def write_case(workdir, overlay, sheet_text):
    case = workdir / "case"
    shutil.rmtree(case, ignore_errors=True)
    case.mkdir()
    (case / "config.yaml").write_text(yaml.safe_dump(overlay))
    if sheet_text is not None:
        (case / "samples.tsv").write_text(sheet_text)
    return "case/config.yaml"


@pytest.mark.parametrize("name", list(CASES))
def test_a_bad_input_is_refused_naming_what_is_wrong(workdir, name):
    overlay, sheet_text, expected = CASES[name]
    config = write_case(workdir, overlay, sheet_text)
    before = input_hashes(workdir)
    result = dry_run(workdir, config)
    output = result.stdout + result.stderr
    assert result.returncode != 0, output[-3000:]
    for text in expected:
        assert text in output, f"{text!r} not in:\n{output[-3000:]}"
    assert input_hashes(workdir) == before
    assert not (workdir / "results").exists()


def test_a_simulated_run_without_a_simulation_block_is_refused_at_parse_time(tmp_path):
    workdir = copy_repo(tmp_path / "repo")
    config = yaml.safe_load((workdir / "config.yaml").read_text())
    del config["simulation"]
    (workdir / "config.yaml").write_text(yaml.safe_dump(config))
    result = subprocess.run(
        [sys.executable, "-m", "snakemake", "--dry-run"], cwd=workdir, capture_output=True, text=True, timeout=300
    )
    assert result.returncode != 0
    assert "source: simulation needs a simulation: block" in result.stdout + result.stderr
    assert not (workdir / "results").exists()


def test_a_simulation_block_without_a_key_takes_the_simulators_default(tmp_path):
    """The schema holds no defaults: the workflow completes simulation: from ramansr.simulate.settings."""
    workdir = copy_repo(tmp_path / "repo")
    config = yaml.safe_load((workdir / "config.yaml").read_text())
    del config["simulation"]["samples"], config["simulation"]["areas"]
    (workdir / "config.yaml").write_text(yaml.safe_dump(config))
    result = subprocess.run(
        [sys.executable, "-m", "snakemake", "--dry-run"], cwd=workdir, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]
    defaults = default_settings()
    expected = {(sample, str(area)) for sample in defaults["samples"] for area in range(1, defaults["areas"] + 1)}
    simulated = set(re.findall(r"output: results/simulated/(\w+)/(\w+)/", result.stdout))
    assert simulated == expected


def test_relative_sheet_paths_are_read_from_the_sheets_folder(workdir):
    config = write_case(workdir, SAMPLES, sheet(area_rows(prefix="../data")))
    result = dry_run(workdir, config)
    assert result.returncode == 0, result.stderr[-3000:]
    for sample, area in AREAS:
        assert f"input: data/{sample}/{area}/lowres.mat" in result.stdout


def test_absolute_sheet_paths_are_taken_as_they_are(workdir):
    rows = area_rows(prefix=str(workdir / "data"))
    config = write_case(workdir, SAMPLES, sheet(rows))
    result = dry_run(workdir, config)
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"input: {workdir}/data/A/1/lowres.mat" in result.stdout


def test_a_later_configfile_replaces_the_list_of_models(workdir):
    """The README's promise: a copy of the config with fewer models runs fewer models."""
    write_case(workdir, {"models": ["linear", "srcnn"], "predict": {"model": "srcnn"}}, None)
    jobs = planned_jobs(workdir, "--configfile", TEST_CONFIG, "case/config.yaml")
    assert {dict(w)["model"] for rule, w in jobs if rule == "train"} == {"linear", "srcnn"}
    jobs = planned_jobs(workdir)
    assert {dict(w)["model"] for rule, w in jobs if rule == "train"} == {
        "linear",
        "bicubic",
        "wiener",
        "srcnn",
        "srresnet",
        "srgan",
        "rcan",
    }


# --- faults, on the .test pipeline -----------------------------------------------------------

FAILING_TRAINER = textwrap.dedent('''
    """Test only: make the train job of one model fail after some epochs (like an unwritable disk)."""
    import os
    import sys

    if "train.py" in sys.argv[0] and os.environ.get("RAMANSR_FAIL_MODEL"):
        import ramansr.train

        original = ramansr.train.train_model

        def failing_train_model(model_name, *args, **kwargs):
            def fail(epoch, row):
                if model_name == os.environ["RAMANSR_FAIL_MODEL"] and epoch == int(os.environ["RAMANSR_FAIL_EPOCH"]):
                    raise OSError(f"injected failure after epoch {epoch}")
            return original(model_name, *args, on_epoch_end=fail, **kwargs)

        ramansr.train.train_model = failing_train_model
''')


@pytest.fixture(scope="module")
def finished_run(local_test_run):
    return local_test_run.wait()


# The outputs of the `tables` rule: a run in which a model's training failed must not write them.
MODEL_TABLES = ["train.csv", "test.csv", "train.md", "test.md", "per_image.csv"]


@pytest.mark.slow
def test_a_training_failure_is_retrained_on_rerun_and_gives_the_same_tables(finished_run, tmp_path):
    """srcnn trained again in a copy of the finished run fails after epoch 1; the rerun resumes
    from that epoch and gives the finished run's tables (its uninterrupted training)."""
    workdir = tmp_path / "failing"
    shutil.copytree(finished_run, workdir, symlinks=True)
    models = workdir / "results/models/srcnn"
    shutil.rmtree(models)  # resume files too: a rerun must start from what the failing run leaves
    (workdir / "results/metrics/srcnn.csv").unlink()  # else Snakemake needs no new srcnn
    for name in MODEL_TABLES:
        (workdir / "results/tables" / name).unlink()
    hook = tmp_path / "hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(FAILING_TRAINER)
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(hook), os.environ.get("PYTHONPATH")])),
        "RAMANSR_FAIL_MODEL": "srcnn",
        "RAMANSR_FAIL_EPOCH": "1",
    }
    target = "results/tables/test.csv"  # the figures would only add jobs
    command = [sys.executable, "-m", "snakemake", "--configfile", TEST_CONFIG, "--cores", "2", target]
    failed = subprocess.run(command, cwd=workdir, env=env, capture_output=True, text=True, timeout=900)
    assert failed.returncode != 0
    assert "injected failure after epoch 1" in (workdir / "results/logs/train/srcnn.log").read_text()
    assert (models / "last.pt").exists()  # the epoch a rerun resumes from
    assert not (models / "best.pt").exists() and not (models / "history.csv").exists()
    assert not (workdir / "results/tables/test.csv").exists()
    rules = {rule for rule, wildcards in planned_jobs(workdir) if ("model", "srcnn") in wildcards}
    assert "train" in rules
    snakemake(workdir, "--cores", "2", target)
    summary = json.loads((models / "summary.json").read_text())
    assert summary["resumed_from_epoch"] == 1
    for name in ("train.csv", "test.csv"):
        rerun = pd.read_csv(workdir / "results/tables" / name, index_col=[0, 1, 2])
        uninterrupted = pd.read_csv(finished_run / "results/tables" / name, index_col=[0, 1, 2])
        pd.testing.assert_frame_equal(rerun, uninterrupted, rtol=1e-6)


@pytest.mark.slow
@pytest.mark.parametrize("force", [["--forcerun", "train"], ["--forceall"]])
def test_a_forced_run_retrains_from_scratch(finished_run, tmp_path, force):
    """The README's retrain command on a finished run: srcnn trains all its epochs again."""
    workdir = tmp_path / "run"
    shutil.copytree(finished_run, workdir, symlinks=True)
    model = workdir / "results/models/srcnn"
    before = pd.read_csv(model / "history.csv")
    snakemake(workdir, "--cores", "2", "results/models/srcnn/best.pt", *force)
    summary = json.loads((model / "summary.json").read_text())
    assert summary["resumed_from_epoch"] is None and summary["epochs_completed"] == summary["settings"]["epochs"]
    assert summary["settings"]["model"] == {"n_channels": [16, 8]}  # its model_settings: entry applies
    assert (model / "best.pt").exists()
    # same seed, same data: the same training
    pd.testing.assert_frame_equal(pd.read_csv(model / "history.csv"), before, rtol=1e-6)


@pytest.mark.parametrize("write", ["npz", "checkpoint"])
def test_a_full_disk_leaves_the_old_file_and_no_temporary(tmp_path, write):
    """Disk full during an atomic write (a 64 KiB tmpfs): the previous file stays whole."""
    import numpy as np

    from ramansr.checkpoint import save_checkpoint
    from ramansr.io_utils import load_npz, save_npz

    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root")
    disk = tmp_path / "disk"
    disk.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(disk)], capture_output=True, text=True
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        target = disk / "out.npz"
        save_npz(target, x=np.arange(4))
        noise = np.random.default_rng(0).random(100_000)  # 800 kB that do not compress
        with pytest.raises((OSError, RuntimeError)):  # torch.save reports ENOSPC as RuntimeError
            if write == "npz":
                save_npz(target, x=noise)
            else:
                save_checkpoint({"x": noise}, target)
        np.testing.assert_array_equal(load_npz(target)["x"], np.arange(4))
        assert [path.name for path in disk.iterdir()] == ["out.npz"]
    finally:
        subprocess.run(["umount", str(disk)], check=True)
