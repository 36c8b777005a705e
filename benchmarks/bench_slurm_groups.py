"""What grouping each area's chain into one SLURM job changes, on a single-node SLURM.

Starts the test suite's throwaway one-node SLURM (tests/slurm_cluster.py: needs root and
Debian's slurm-wlm and munge, installed with apt-get when missing), then runs the per-area
stages of the ``.test`` config (simulate, convert, area_geometry, preprocess, decompose,
register, select, clean_maps for every area) through ``profiles/slurm`` twice from scratch,
each in its own copy of the repository, back to back:

- ``per rule``: the profile without its ``groups:``, one SLURM job per rule instance
  (``area_geometry`` runs on the submitting node, as a ``localrule``);
- ``per area``: the profile as shipped, whose ``groups:`` put each area's chain in one SLURM job
  (Snakemake makes one group job per connected part of a group, and areas share no job before
  ``dataset``).

It prints, per mode, the wall time, the SLURM jobs submitted (from Snakemake's log, checked
against ``scontrol``: all COMPLETED), their summed run time and the CPUs, memory and time
limit they asked for, and checks that both modes wrote the same per-area outputs (by content:
arrays of .npz files, parsed JSON, bytes of the rest).

    python benchmarks/bench_slurm_groups.py --json groups.json
    python benchmarks/bench_slurm_groups.py --init-seconds 2

``--init-seconds`` is the plugin's wait before its first status check of a job; it waits 10 s
longer at each check that finds no job finished. The default here is the plugin's own (40 s);
the test suite uses 2 s. Timings are meant as a ratio between the two modes of one run:
they share the machine's cores with the cluster's daemons and anything else running.
"""

import argparse
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))  # the single-node cluster the SLURM test starts
from slurm_cluster import SlurmCluster, ensure_slurm_installed  # noqa: E402

CONFIG = ".test/config.yaml"
IGNORE = shutil.ignore_patterns(".git", "results", ".snakemake", "__pycache__", "*.egg-info", ".pytest_cache")
# Per-area outputs compared between the modes: everything under results/ but logs and timings.
NOT_COMPARED = ("results/logs/", "results/benchmarks/")


def area_targets(config_path):
    """The ends of every area's chain (registration, selection, clean maps) for a simulated config."""
    sim = yaml.safe_load(config_path.read_text())["simulation"]
    areas = [(sample, area) for sample in sim["samples"] for area in range(1, sim["areas"] + 1)]
    targets = []
    for sample, area in areas:
        targets += [
            f"results/registration/{sample}/{area}.json",
            f"results/selection/{sample}/{area}.json",
            f"results/decomposition/{sample}/{area}/clean_maps.npz",
        ]
    return areas, targets


def prepare_copy(dst, cluster, grouped):
    """A copy of the repository whose SLURM profile is filled in for ``cluster``, grouped or not."""
    shutil.copytree(REPO, dst, ignore=IGNORE)
    path = dst / "profiles" / "slurm" / "config.yaml"
    profile = yaml.safe_load(path.read_text())
    profile["default-resources"]["slurm_partition"] = cluster.partition
    profile["default-resources"].pop("slurm_account", None)
    profile["slurm-no-account"] = True
    if not profile.get("groups"):
        raise SystemExit(f"{path}: no groups: to compare with one job per rule")
    if not grouped:
        del profile["groups"]
        profile.pop("group-components", None)
    path.write_text(yaml.safe_dump(profile))
    return dst


def run_snakemake(work, targets, env, init_seconds, timeout):
    """Run the targets through the SLURM profile; wall seconds and the log."""
    args = [
        sys.executable,
        "-m",
        "snakemake",
        *targets,
        "--workflow-profile",
        "profiles/slurm",
        "--configfile",
        CONFIG,
        # No accounting database on this cluster: squeue (MinJobAge keeps finished jobs listed).
        "--slurm-status-command",
        "squeue",
        "--slurm-init-seconds-before-status-checks",
        str(init_seconds),
    ]
    started = time.perf_counter()
    proc = subprocess.run(args, cwd=work, env=env, capture_output=True, text=True, timeout=timeout)
    wall = time.perf_counter() - started
    log = proc.stdout + proc.stderr
    (work / "snakemake.out").write_text(log)
    if proc.returncode != 0:
        raise RuntimeError(f"snakemake failed in {work} ({proc.returncode}):\n{log[-6000:]}")
    return wall, log


def seconds(text):
    """SLURM's [D-]HH:MM:SS (or MM:SS) as seconds."""
    days, _, clock = text.rpartition("-")
    total = 0
    for part in clock.split(":"):
        total = 60 * total + int(part)
    return total + 86400 * int(days or 0)


def slurm_jobs(log, cluster):
    """The SLURM jobs this run submitted, as ``scontrol`` fields; each must have COMPLETED."""
    submitted = set(re.findall(r"has been submitted with SLURM jobid (\d+)", log))
    jobs = [job for job in cluster.jobs() if job["JobId"] in submitted]
    if {job["JobId"] for job in jobs} != submitted:
        raise RuntimeError(f"scontrol does not list every submitted job: {sorted(submitted)}")
    states = {job["JobState"] for job in jobs}
    if states != {"COMPLETED"}:
        raise RuntimeError(f"SLURM jobs ended {states}")
    return jobs


def content_digest(path):
    """A hash of what a file holds: its arrays for .npz (zip entries carry write times), parsed JSON, else bytes."""
    digest = hashlib.sha256()
    if path.suffix == ".npz":
        with np.load(path, allow_pickle=False) as arrays:
            for name in sorted(arrays.files):
                array = np.ascontiguousarray(arrays[name])
                digest.update(f"{name}:{array.dtype.str}:{array.shape}".encode())
                digest.update(array.tobytes())
    elif path.suffix == ".json":
        digest.update(json.dumps(json.loads(path.read_text()), sort_keys=True).encode())
    else:
        digest.update(path.read_bytes())
    return digest.hexdigest()


def output_digests(work):
    """{path under results/: content digest} of the per-area outputs."""
    files = sorted(p for p in (work / "results").rglob("*") if p.is_file())
    paths = [p.relative_to(work).as_posix() for p in files]
    return {path: content_digest(work / path) for path in paths if not path.startswith(NOT_COMPARED)}


def measure(work, targets, cluster, init_seconds, timeout):
    """Run one mode; its figures and output digests."""
    wall, log = run_snakemake(work, targets, cluster.env, init_seconds, timeout)
    jobs = slurm_jobs(log, cluster)
    local_rules = re.findall(r"^localrule (\w+):", log, re.M)
    return {
        "wall_s": round(wall, 1),
        # what else ran: the 1-minute load average at the end of the run (the machine's cores: os.cpu_count())
        "load_avg": round(os.getloadavg()[0], 1),
        "slurm_jobs": len(jobs),
        "slurm_job_names": sorted({re.sub(r"_wildcards_.*", "", job["Comment"]) for job in jobs}),
        "local_jobs": len(local_rules),
        "slurm_run_s": sum(seconds(job["RunTime"]) for job in jobs),
        "cpus_per_job": sorted({int(job["NumCPUs"]) for job in jobs}),
        "mem_per_job": sorted({job["MinMemoryNode"] for job in jobs}),
        "time_limit": sorted({job["TimeLimit"] for job in jobs}),
        "outputs": output_digests(work),
    }


def compare_outputs(a, b):
    """Lines naming every output that one mode lacks or that differs in content; empty when identical."""
    problems = [f"only in per rule: {p}" for p in sorted(set(a) - set(b))]
    problems += [f"only in per area: {p}" for p in sorted(set(b) - set(a))]
    problems += [f"differs: {p}" for p in sorted(set(a) & set(b)) if a[p] != b[p]]
    return problems


def table(results, n_areas):
    rows = [
        ("wall time (s)", "wall_s"),
        (f"load average at the end ({os.cpu_count()} cores)", "load_avg"),
        ("SLURM jobs", "slurm_jobs"),
        ("jobs on the submitting node", "local_jobs"),
        ("summed SLURM job run time (s)", "slurm_run_s"),
        ("CPUs per job", "cpus_per_job"),
        ("memory per job", "mem_per_job"),
        ("time limit per job", "time_limit"),
    ]
    modes = list(results)
    lines = [f"{'':36}" + "".join(f"{mode:>22}" for mode in modes)]
    for label, key in rows:
        cells = [results[mode][key] for mode in modes]
        cells = [", ".join(map(str, c)) if isinstance(c, list) else str(c) for c in cells]
        lines.append(f"{label:36}" + "".join(f"{c:>22}" for c in cells))
    a, b = (results[mode]["wall_s"] for mode in modes)
    lines.append(f"per area / per rule wall time: {b / a:.2f} ({n_areas} areas)")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--init-seconds", type=int, default=40, help="seconds before the first status check of a job")
    parser.add_argument("--timeout", type=float, default=1200, help="seconds allowed per run")
    parser.add_argument("--json", type=Path, help="also write the figures (and output digests) here")
    parser.add_argument("--keep", action="store_true", help="keep the scratch copies and print their path")
    args = parser.parse_args(argv)

    reason = ensure_slurm_installed()
    if reason or os.geteuid() != 0:
        sys.exit(f"cannot start a single-node SLURM here: {reason or 'needs root (SlurmUser=root)'}")
    areas, targets = area_targets(REPO / CONFIG)
    scratch = Path(tempfile.mkdtemp(prefix="bench_slurm_groups_"))
    # A node that fits every job many times over (SLURM trusts the configured size), so jobs wait
    # for their inputs and the status checks, not for each other.
    cluster = SlurmCluster(scratch / "slurm", cpus=32, mem_mb=256000, gpus=8)
    results = {}
    try:
        cluster.start()
        for mode, grouped in (("per rule", False), ("per area", True)):
            work = prepare_copy(scratch / mode.replace(" ", "_"), cluster, grouped)
            results[mode] = measure(work, targets, cluster, args.init_seconds, args.timeout)
    finally:
        cluster.stop()
        if args.keep:
            print(f"scratch copies kept in {scratch}")
        else:
            shutil.rmtree(scratch, ignore_errors=True)

    print(f"{len(areas)} areas of {CONFIG}, first status check after {args.init_seconds} s")
    print(table(results, len(areas)))
    problems = compare_outputs(*(r["outputs"] for r in results.values()))
    one_per_area = results["per area"]["slurm_jobs"] == len(areas)
    print(f"one SLURM job per area when grouped: {'yes' if one_per_area else 'NO'}")
    n_outputs = len(results["per rule"]["outputs"])
    print(f"per-area outputs: {n_outputs} files, " + ("identical in content" if not problems else "DIFFER:"))
    for line in problems:
        print("  " + line)
    if args.json:
        args.json.write_text(
            json.dumps({"init_seconds": args.init_seconds, "areas": len(areas), "modes": results}, indent=1)
        )
    return 1 if problems or not one_per_area else 0


if __name__ == "__main__":
    sys.exit(main())
