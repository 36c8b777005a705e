# ---------------------------------------------------------------------------
# Whole-pipeline runs (used by tests/test_slurm.py; reusable by any
# end-to-end test). Each run works in its own copy of the repository, so the
# repository's results/ and .snakemake/ are never touched.
# ---------------------------------------------------------------------------
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
_COPY_IGNORE = shutil.ignore_patterns(
    ".git", "results", ".snakemake", "__pycache__", "logs", ".pytest_cache", "*.egg-info", "build"
)


def copy_repo(dst: Path) -> Path:
    """A working copy of the repository (sources, workflow, configs, profiles)."""
    shutil.copytree(REPO, dst, ignore=_COPY_IGNORE)
    return dst


class PipelineRun:
    """`snakemake ARGS` started in the background in `workdir`; output in `log`.

    It runs in its own session so that stop() can end it together with the
    jobs it spawned, through the process group of the pid it started.
    """

    def __init__(self, workdir: Path, args: list[str], env: dict | None = None):
        self.workdir = Path(workdir)
        self.log = self.workdir / "snakemake.out"
        with open(self.log, "wb") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "snakemake", *args],
                cwd=self.workdir,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )

    def wait(self, timeout: float = 1200) -> Path:
        """Block until done; fail with the log's tail unless it succeeded."""
        rc = self.proc.wait(timeout)
        assert rc == 0, f"snakemake exited with {rc}:\n{self.output()[-6000:]}"
        return self.workdir

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self) -> None:
        if self.proc.poll() is not None:
            return
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()


@pytest.fixture(scope="session")
def local_test_run(tmp_path_factory):
    """The .test config run locally (workstation profile), started in the
    background at first use; call ``.wait()`` for the finished work dir."""
    run = PipelineRun(
        copy_repo(tmp_path_factory.mktemp("local_test_run") / "repo"),
        ["--configfile", ".test/config.yaml"],
    )
    try:
        yield run
    finally:
        run.stop()


# The cross-validation on the .test run: the baselines and one network keep the folds' training short.
CV_CONFIG = ["--config", "dataset={cv: leave_one_sample_out}", "models=[linear,bicubic,srcnn]"]
CV_TARGET = "results/tables/cv.csv"
# the per-fold uncertainty (each fold's calibration and held-out maps' scores) and its table
CV_UNCERTAINTY_TARGET = "results/tables/cv_uncertainty.csv"


@pytest.fixture(scope="session")
def cv_test_run(local_test_run, tmp_path_factory):
    """A copy of the finished .test run with the cross-validation (scores and per-fold uncertainty) run on
    top; and the rules it planned."""
    from workflow_helpers import planned_jobs, rules_of, snakemake

    workdir = tmp_path_factory.mktemp("cv_run") / "run"
    shutil.copytree(local_test_run.wait(), workdir, symlinks=True)
    # the targets after an option that takes no list (--configfile and --config take every word that follows)
    targets = [CV_TARGET, CV_UNCERTAINTY_TARGET]
    planned = rules_of(planned_jobs(workdir, *targets, *CV_CONFIG))
    snakemake(workdir, "--cores", "2", *targets, *CV_CONFIG)
    return workdir, planned
