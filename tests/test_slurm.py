"""The execution profiles: profiles/default (workstation) and profiles/slurm.

The SLURM test is real: it installs Debian's slurm-wlm and munge when they
are missing (root + apt-get), starts a one-node cluster in a temp dir
(tests/slurm_cluster.py) and, in a copy of the finished local .test run, reruns
through the profile one area's chain (one SLURM job: the profile's groups), the
pair set and the training, scoring and uncertainty calibration of two models (a
baseline and a network), each a SLURM job; and, in a copy of the finished local
cross-validation, a network's folds (a training, a scoring and an uncertainty job
per fold).
"""

import json
import os
import re
import shutil
import textwrap
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import CV_CONFIG, CV_TARGET, CV_UNCERTAINTY_TARGET, REPO, PipelineRun, copy_repo
from slurm_cluster import SlurmCluster, ensure_slurm_installed

SLURM_PROFILE = yaml.safe_load((REPO / "profiles" / "slurm" / "config.yaml").read_text())
PER_AREA_RULES = {"simulate", "convert", "preprocess", "decompose", "register", "select"}
TEST_SIMULATION = yaml.safe_load((REPO / ".test" / "config.yaml").read_text())["simulation"]
TEST_AREAS = {(s, str(a)) for s in TEST_SIMULATION["samples"] for a in range(1, TEST_SIMULATION["areas"] + 1)}


def dry_run(workdir: Path, *args: str) -> str:
    run = PipelineRun(workdir, ["--dry-run", "--configfile", ".test/config.yaml", *args])
    run.wait(300)
    return run.output()


def job_resources(log: str) -> list[tuple[str, dict[str, str]]]:
    """(rule, resources) of every job that a dry run prints, in group jobs too."""
    jobs = []
    for rule, res in re.findall(r"^ *(?:local)?(?:rule|checkpoint) (\w+):\n(?: +.*\n)*? +resources: (.*)$", log, re.M):
        jobs.append((rule, dict(kv.split("=", 1) for kv in res.split(", "))))
    return jobs


def group_jobs(log: str) -> list[tuple[str, list[str], set[tuple[str, str]]]]:
    """(group, rules, (sample, area) pairs) of every group job that a Snakemake log lists."""
    groups = []
    # A group job's own jobs are indented under its unindented "[time] Group job NAME" line.
    for entry in re.split(r"^\[[^\]\n]*\] ", log, flags=re.M):
        head = re.match(r"Group job (\w+) ", entry)
        if head:
            rules = re.findall(r"^    (?:local)?(?:rule|checkpoint) (\w+):", entry, re.M)
            areas = set(re.findall(r"^        wildcards: sample=(\w+), area=(\w+)", entry, re.M))
            groups.append((head.group(1), rules, areas))
    return groups


# -- workstation profile ----------------------------------------------------


def test_workstation_profile_is_applied_without_flags(tmp_path):
    log = dry_run(copy_repo(tmp_path / "repo"))
    jobs = job_resources(log)
    rules = {rule for rule, _ in jobs}
    assert {"train", "tables"} | PER_AREA_RULES <= rules
    for rule, res in jobs:
        # default-resources of profiles/default, applied with no --profile flag
        assert res["runtime"] == "60", rule
        assert res["mem_mb"] == "2000", rule
        assert "slurm_partition" not in res
    assert all(res["gpu"] == "1" for rule, res in jobs if rule == "train")


GPU_TOY = textwrap.dedent(
    """
    import os, sys, time
    from pathlib import Path

    def wait_for(name):
        for _ in range(1200):
            if Path(name).exists():
                return
            time.sleep(0.1)
        sys.exit(f"{name} never appeared: the jobs did not run side by side")

    if snakemake.rule == "train":
        try:
            os.close(os.open("gpu.lock", os.O_CREAT | os.O_EXCL))
        except FileExistsError:
            sys.exit("two GPU jobs ran at once")
        Path("train.started").touch()
        wait_for("cpu.started")
        # Hold the GPU a moment so that a second GPU job, were it started,
        # would find the lock.
        time.sleep(1)
        os.remove("gpu.lock")
    else:
        Path("cpu.started").touch()
        wait_for("train.started")
    Path(snakemake.output[0]).write_text("done")
    """
)


def test_workstation_profile_runs_one_gpu_job_beside_cpu_jobs(tmp_path):
    """With cores to spare, two ready GPU jobs still run one after the other,
    while a CPU job runs next to training (each waits for the other)."""
    (tmp_path / "profiles").mkdir()
    (tmp_path / "profiles" / "default").mkdir()
    (tmp_path / "profiles" / "default" / "config.yaml").write_text(
        (REPO / "profiles" / "default" / "config.yaml").read_text()
    )
    (tmp_path / "job.py").write_text(GPU_TOY)
    (tmp_path / "Snakefile").write_text(
        textwrap.dedent(
            """
            rule all:
                input: "a.model", "b.model", "area.done"

            rule train:
                output: "{m}.model"
                resources: gpu=1
                script: "job.py"

            rule area:
                output: "area.done"
                script: "job.py"
            """
        )
    )
    run = PipelineRun(tmp_path, ["--cores", "3"])
    try:
        run.wait(300)
    finally:
        run.stop()
    assert {p.read_text() for p in tmp_path.glob("*.model")} == {"done"}
    assert len(list(tmp_path.glob("*.model"))) == 2
    assert (tmp_path / "area.done").read_text() == "done"


# -- SLURM profile ------------------------------------------------------------


def test_slurm_profile_replaces_the_workstation_profile(tmp_path):
    work = copy_repo(tmp_path / "repo")
    listed = PipelineRun(work, ["--list-rules", "--configfile", ".test/config.yaml"])
    listed.wait(300)
    rules = set(listed.output().split())
    assert set(SLURM_PROFILE["set-resources"]) <= rules, "set-resources names a rule the workflow lacks"

    log = dry_run(work, "--workflow-profile", "profiles/slurm")
    jobs = job_resources(log)
    defaults = SLURM_PROFILE["default-resources"]
    assert {rule for rule, _ in jobs} >= {"train"} | PER_AREA_RULES
    for rule, res in jobs:
        want = {**defaults, **SLURM_PROFILE["set-resources"].get(rule, {})}
        # Every job carries the profile's values, none of profiles/default's.
        assert {k: res.get(k) for k in want} == {k: str(v) for k, v in want.items()}, rule
    train = [res for rule, res in jobs if rule == "train"]
    assert train and all(res["gpu"] == "1" and "cpus_per_task" not in res for res in train)
    assert all(res["cpus_per_task"] == "1" for rule, res in jobs if rule in PER_AREA_RULES)

    # groups: one job per area for its whole chain, and no per-area rule outside one.
    groups = group_jobs(log)
    chain = set(SLURM_PROFILE["groups"])
    assert chain >= PER_AREA_RULES
    assert sorted(area for _, _, areas in groups for area in areas) == sorted(TEST_AREAS)
    for name, rules, areas in groups:
        assert name == "area" and set(rules) == chain and len(areas) == 1
    ungrouped = re.findall(r"^(?:local)?(?:rule|checkpoint) (\w+):", log, re.M)
    assert ungrouped and not chain & set(ungrouped)


@pytest.fixture(scope="module")
def slurm(tmp_path_factory):
    if os.geteuid() != 0:
        pytest.skip("a single-node SLURM needs root here (SlurmUser=root, slurmd starts the jobs)")
    reason = ensure_slurm_installed()
    if reason:
        pytest.skip(reason)
    res = [SLURM_PROFILE["default-resources"], *SLURM_PROFILE["set-resources"].values()]
    # One node that fits every request of the profile several times over
    # (SLURM trusts the configured size; nothing is enforced), with a fake
    # GPU per model, so that jobs wait for their inputs, not for each other.
    cluster = SlurmCluster(
        tmp_path_factory.mktemp("slurm"),
        cpus=4 * max([os.cpu_count() or 1] + [r.get(k, 1) for r in res for k in ("cpus_per_task", "cpus_per_gpu")]),
        mem_mb=8 * max(r.get("mem_mb", 0) for r in res),
        gpus=8,
    )
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()


def edit_profile_like_a_user(work: Path, cluster: SlurmCluster) -> None:
    """Fill in the two keys the profile asks users to edit."""
    path = work / "profiles" / "slurm" / "config.yaml"
    profile = yaml.safe_load(path.read_text())
    assert profile["default-resources"]["slurm_partition"].startswith("CHANGE_ME")
    assert profile["default-resources"]["slurm_account"].startswith("CHANGE_ME")
    profile["default-resources"]["slurm_partition"] = cluster.partition
    del profile["default-resources"]["slurm_account"]
    profile["slurm-no-account"] = True
    path.write_text(yaml.safe_dump(profile))


def slurm_minutes(limit: str) -> float:
    """SLURM's [D-]HH:MM:SS time limit in minutes."""
    days, _, clock = limit.rpartition("-")
    hours, minutes, seconds = (int(part) for part in clock.split(":"))
    return 1440 * int(days or 0) + 60 * hours + minutes + seconds / 60


def read_csv_files(work: Path, paths: list[str]) -> dict[str, pd.DataFrame]:
    return {path: pd.read_csv(work / path) for path in paths}


# The SLURM jobs run torch on the profile's 4 threads (set-threads), the workstation run on its cores (here
# 2). The uncertainty stage is deterministic: its bootstrap draws seeded transforms and (noise_scale 0) no
# noise, and on a given checkpoint of .test's models it wrote the same bits on 1, 2 and 4 torch threads.
# So ATOL only absorbs a retrained model's rounding; a coverage is a share of a map's 576 pixels, and one
# pixel crossing its interval's edge (1/576) would fail it.
ATOL = 1e-6


def assert_csv_equal(got: dict, want: dict) -> None:
    assert set(got) == set(want)
    for name, w in want.items():
        g = got[name]
        assert list(g.columns) == list(w.columns), name
        assert g.shape == w.shape and len(w), name
        numeric = w.select_dtypes("number").columns
        text = [c for c in w.columns if c not in numeric]
        pd.testing.assert_frame_equal(g[text], w[text], check_dtype=False, obj=name)
        np.testing.assert_allclose(
            g[numeric].to_numpy(float), w[numeric].to_numpy(float), rtol=0, atol=ATOL, err_msg=name
        )


def assert_json_close(got, want, name: str = "") -> None:
    """Equal JSON, numbers to ATOL (a calibration's weights and quantile)."""
    if isinstance(want, dict):
        assert isinstance(got, dict) and set(got) == set(want), name
        for key in want:
            assert_json_close(got[key], want[key], f"{name}/{key}")
    elif isinstance(want, float) and not isinstance(want, bool):
        assert got == pytest.approx(want, rel=0, abs=ATOL), name
    else:
        assert got == want, name


def assert_profile_gpu_job(job: dict[str, str], rule: str) -> None:
    """SLURM's record of a job of ``rule`` shows the profile's GPU request: one GPU, its CPUs per GPU,
    memory and time limit."""
    want = {**SLURM_PROFILE["default-resources"], **SLURM_PROFILE["set-resources"][rule]}
    assert want["gpu"] == 1, rule
    assert job["TresPerJob"] == "gres:gpu:1", rule
    assert job["CpusPerTres"] == f"gres:gpu:{want['cpus_per_gpu']}", rule
    assert job["MinMemoryNode"] == f"{want['mem_mb']}M", rule
    assert slurm_minutes(job["TimeLimit"]) == want["runtime"], rule


def run_through_slurm(work: Path, slurm: SlurmCluster, args: list[str]) -> tuple[str, dict[str, str], dict]:
    """Snakemake with the SLURM profile in ``work``: its log, {Snakemake job id: SLURM job id} of every
    submitted job, and SLURM's record of each of those jobs."""
    run = PipelineRun(
        work,
        [
            *args,
            "--workflow-profile",
            "profiles/slurm",
            # No accounting database here: query squeue (MinJobAge keeps
            # finished jobs listed) and start polling after 2 s, not 40 s.
            "--slurm-status-command",
            "squeue",
            "--slurm-init-seconds-before-status-checks",
            "2",
        ],
        env=slurm.env,
    )
    try:
        run.wait(900)
    finally:
        run.stop()
    log = run.output()
    submitted = dict(re.findall(r"Job ([\w-]+) has been submitted with SLURM jobid (\d+)", log))
    assert submitted, log[-4000:]
    jobs = {j["JobId"]: j for j in slurm.jobs() if j["JobId"] in set(submitted.values())}
    assert set(jobs) == set(submitted.values())
    assert {j["JobState"] for j in jobs.values()} == {"COMPLETED"}
    return log, submitted, jobs


# Rerun through SLURM, in a copy of the finished local run: one area's chain (every per-area
# rule), the pair set, and the training, scores and uncertainty calibration of a baseline and a
# network (train, evaluate and uncertainty ask for a GPU). The other areas and models would only
# repeat the same rules.
RERUN_AREA = ("F", "2")
RERUN_MODELS = ("linear", "srcnn")
RERUN_CSV = [
    "results/dataset/split.csv",
    *(f"results/metrics/{model}.csv" for model in RERUN_MODELS),
    *(f"results/uncertainty/{model}.csv" for model in RERUN_MODELS),
]
RERUN_JSON = [f"results/{stage}/{RERUN_AREA[0]}/{RERUN_AREA[1]}.json" for stage in ("registration", "selection")]
RERUN_CALIBRATIONS = [f"results/models/{model}/calibration.json" for model in RERUN_MODELS]


@pytest.mark.slurm
def test_test_config_through_slurm_equals_local_run(slurm, local_test_run, tmp_path):
    local = local_test_run.wait()
    work = tmp_path / "repo"
    shutil.copytree(local, work, symlinks=True)
    # The rebuilt pair set has the same content, so only a missing model makes Snakemake train it
    # (its directory holds the calibration too).
    for model in RERUN_MODELS:
        shutil.rmtree(work / "results/models" / model)
        (work / "results/metrics" / f"{model}.csv").unlink()
        (work / "results/uncertainty" / f"{model}.csv").unlink()
    edit_profile_like_a_user(work, slurm)
    started = time.time()
    log, submitted, jobs = run_through_slurm(
        work,
        slurm,
        [
            *RERUN_CSV[1:],
            *RERUN_JSON,
            *RERUN_CALIBRATIONS,
            "--configfile",
            ".test/config.yaml",
            # The area's simulation and everything after it that the targets (first) need.
            "--forcerun",
            "results/simulated/{}/{}/lowres.mat".format(*RERUN_AREA),
        ],
    )

    # Every non-local job went to SLURM, and SLURM ran each to completion: the area's chain
    # as one group job (Snakemake ids group jobs by a UUID, single jobs by a number).
    remote_rules = re.findall(r"^(?:rule|checkpoint) (\w+):", log, re.M)
    groups = group_jobs(log)
    assert len(submitted) == len(remote_rules) + len(groups) > 0
    group_ids = {slurm_id for job_id, slurm_id in submitted.items() if not job_id.isdigit()}
    [(name, rules, areas)] = groups
    assert name == "area" and set(rules) == set(SLURM_PROFILE["groups"]) and areas == {RERUN_AREA}
    [group] = [jobs[i] for i in group_ids]
    chain = [{**SLURM_PROFILE["default-resources"], **SLURM_PROFILE["set-resources"][rule]} for rule in rules]
    assert group.get("TresPerJob", "(null)") in ("(null)", "")
    assert int(group["MinMemoryNode"].removesuffix("M")) >= max(r["mem_mb"] for r in chain)
    # Enough memory and time for its largest and longest stage (Snakemake sums the runtimes along the chain).
    assert slurm_minutes(group["TimeLimit"]) >= max(r["runtime"] for r in chain)
    by_rule = {}
    for j in jobs.values():
        if j["JobId"] not in group_ids:
            by_rule.setdefault(re.match(r"rule_(\w+?)(_wildcards_|$)", j["Comment"]).group(1), []).append(j)
    assert set(by_rule) == set(remote_rules) == {"dataset", "train", "evaluate", "uncertainty"}
    assert len(by_rule["dataset"]) == 1
    # one job per model of each, each with a GPU and the CPUs, memory and time the profile gives the rule
    for rule in ("train", "evaluate", "uncertainty"):
        assert len(by_rule[rule]) == len(RERUN_MODELS), rule
        for j in by_rule[rule]:
            assert_profile_gpu_job(j, rule)
    assert sorted(re.search(r"_wildcards_(\w+)", j["Comment"]).group(1) for j in by_rule["uncertainty"]) == sorted(
        RERUN_MODELS
    )

    # Same numbers as the workstation run of the same config, in files the SLURM jobs wrote anew.
    written = RERUN_CSV + RERUN_JSON + RERUN_CALIBRATIONS
    assert all((work / path).stat().st_mtime > started for path in written), "an output was not rewritten"
    assert_csv_equal(read_csv_files(work, RERUN_CSV), read_csv_files(local, RERUN_CSV))
    for path in RERUN_JSON:
        assert json.loads((work / path).read_text()) == json.loads((local / path).read_text()), path
    for path in RERUN_CALIBRATIONS:
        calibration = json.loads((work / path).read_text())
        assert calibration["pixels"] > 0, path  # calibrated on the val pairs
        assert_json_close(calibration, json.loads((local / path).read_text()), path)


@pytest.mark.slurm
def test_cross_validation_through_slurm_is_one_gpu_job_per_fold_and_model(slurm, cv_test_run, tmp_path):
    """The network's folds of the finished local cross-validation, rerun through SLURM, give the same scores
    and the same per-fold uncertainty calibration."""
    local, _ = cv_test_run
    work = tmp_path / "repo"
    shutil.copytree(local, work, symlinks=True)
    folds = sorted(path.name for path in (local / "results/cv").iterdir())
    metrics = [f"results/cv/{fold}/metrics/srcnn.csv" for fold in folds]
    uncertainty = [f"results/cv/{fold}/uncertainty/srcnn.csv" for fold in folds]
    calibrations = [f"results/cv/{fold}/models/srcnn/calibration.json" for fold in folds]
    for fold in folds:
        shutil.rmtree(work / f"results/cv/{fold}/models/srcnn")  # the calibration with it
        (work / f"results/cv/{fold}/metrics/srcnn.csv").unlink()
        (work / f"results/cv/{fold}/uncertainty/srcnn.csv").unlink()
    edit_profile_like_a_user(work, slurm)
    started = time.time()
    # the deleted files by name: Snakemake 9 does not rebuild an input known only after a
    # checkpoint (here the folds, after `dataset`) when the rule's output exists (README)
    targets = [*metrics, *uncertainty, CV_TARGET, CV_UNCERTAINTY_TARGET]
    _, _, jobs = run_through_slurm(work, slurm, [*targets, "--configfile", ".test/config.yaml", *CV_CONFIG])
    by_rule = {}
    for j in jobs.values():
        match = re.match(r"rule_(\w+?)_wildcards_(\w+)$", j["Comment"])
        by_rule.setdefault(match.group(1), []).append(match.group(2))
        # each with a GPU of its own and the CPUs, memory and time the profile gives its rule
        assert_profile_gpu_job(j, match.group(1))
    # only the network's folds: one training, one scoring and one uncertainty job each (the tables are
    # localrules, run by Snakemake itself)
    assert set(by_rule) == {"cv_train", "cv_evaluate", "cv_uncertainty"}
    assert len(folds) == 2
    for rule, wildcards in by_rule.items():
        # SLURM's comment carries the wildcards' values, fold then model
        assert sorted(wildcards) == [f"{fold}_srcnn" for fold in folds], rule

    rewritten = [path for path in [*targets, *calibrations] if (work / path).stat().st_mtime > started]
    assert rewritten == [*targets, *calibrations], "an output was not rewritten"
    assert_csv_equal(read_csv_files(work, targets), read_csv_files(local, targets))
    for path in calibrations:
        assert_json_close(json.loads((work / path).read_text()), json.loads((local / path).read_text()), path)
