"""Run Snakemake in a working copy, and read the jobs it plans."""

import re
import subprocess
import sys

TEST_CONFIG = ".test/config.yaml"


def snakemake(workdir, *args, check=True, timeout=900):
    """Run snakemake in ``workdir`` with the test config; return the completed process."""
    command = [sys.executable, "-m", "snakemake", "--configfile", TEST_CONFIG, *args]
    result = subprocess.run(command, cwd=workdir, capture_output=True, text=True, timeout=timeout)
    if check and result.returncode != 0:
        raise AssertionError(f"{' '.join(command)} failed:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}")
    return result


_JOB = re.compile(r"^(?:local)?(?:rule|checkpoint) (\w+):\n((?:[ \t]+.*\n?)*)", re.MULTILINE)


def planned_jobs(workdir, *args):
    """The jobs a dry run would execute, as a set of (rule, wildcards) with sorted wildcard items."""
    result = snakemake(workdir, "--dry-run", *args)
    output = result.stdout + result.stderr
    jobs = set()
    for rule, body in _JOB.findall(output):
        match = re.search(r"wildcards: (.*)", body)
        wildcards = tuple(sorted(tuple(item.split("=", 1)) for item in match.group(1).split(", "))) if match else ()
        jobs.add((rule, wildcards))
    return jobs


def rules_of(jobs):
    return {rule for rule, _ in jobs}


def areas_of(jobs):
    """The (sample, area) of every planned per-area job."""
    areas = set()
    for _, wildcards in jobs:
        values = dict(wildcards)
        if "sample" in values:
            areas.add((values["sample"], values["area"]))
    return areas
