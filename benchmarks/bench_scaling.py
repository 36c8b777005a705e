"""How each per-area stage's time and memory grow with the scan (issue 13).

Synthetic paired scans (three smooth phases with distinct spectra, LR point-sampled
at 2 um, HR a window of the same specimen at 0.5 um, noise) at LR sizes of
100, 200, 300, 400 points a side (10k-160k points) x 1024 channels, with HR scans
of 100 x 100 and 200 x 200, are written as WITec-format .mat files and run through
the workflow's per-area stages (convert, area_geometry, preprocess, decompose,
register, select) by Snakemake with a samples sheet. Per stage and size the table
gives the job's wall time and peak RSS (Snakemake's ``benchmark:`` files), the
floor (the same computation in this process on arrays already in memory: no
Snakemake, no file reads or writes), the job / floor ratio and the per-job overhead
(job - floor), and, per stage, the log-log slope of time against points between
40k and 160k. The ``predict`` stage (preprocess, NMF, super-resolution, cube
rebuild, files) is run as the ``ramansr-predict`` command on each LR scan with the
linear baseline and with an untrained SRCNN; the network's inference per map is
timed alone too.

Targets (issue 13): slope <= 1.1; peak RSS <= 3x the float32 cube a job
processes and <= 2 GB at 90k x 1024; overhead <= 0.5 s for convert, preprocess,
register and select. The table marks each. Times are wall seconds on this
machine: run it alone (anything else running inflates jobs and floors alike).

    python benchmarks/bench_scaling.py                  # every size (tens of minutes)
    python benchmarks/bench_scaling.py --lowres 100 200 --highres 100 --json out.json
    python benchmarks/bench_scaling.py --predict-only --highres 100     # predict alone (minutes)
"""

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import yaml
from scipy import ndimage

from ramansr.io import Scan, read_scan, write_scan

REPO = Path(__file__).resolve().parents[1]
IGNORE = shutil.ignore_patterns(".git", "results", ".snakemake", "__pycache__", "*.egg-info", ".pytest_cache")
LOWRES_STEP_UM, HIGHRES_STEP_UM, FACTOR = 2.0, 0.5, 4
CHANNELS = 1024
OVERHEAD_TARGET_S = {"convert": 0.5, "preprocess": 0.5, "register": 0.5, "select": 0.5}
SLOPE_TARGET, RSS_CUBE_RATIO_TARGET, RSS_90K_TARGET_MB = 1.1, 3.0, 2000.0
BENCHMARK_FOLDERS = {"geometry": "area_geometry"}  # results/benchmarks/<folder> -> rule


# --------------------------------------------------------------------------- synthetic scans


def phase_spectra(wavenumbers):
    """Three phases' spectra (3, channels): CH-rich, OH-rich and a fingerprint-rich one."""
    bands = [((2850, 40), (2930, 50)), ((3250, 150), (3400, 120)), ((1000, 15), (1600, 25), (2930, 60))]
    return np.stack([sum(np.exp(-(((wavenumbers - c) / w) ** 2)) for c, w in phase) for phase in bands]).astype(
        np.float32
    )


def specimen(shape, rng, correlation_px=12.0):
    """Three abundance maps (3, rows, cols) that sum to 1: smoothed random fields through a softmax."""
    fields = np.stack([ndimage.gaussian_filter(rng.normal(size=shape), correlation_px) for _ in range(3)])
    fields /= fields.std(axis=(1, 2), keepdims=True)
    weights = np.exp(3.0 * fields)
    return (weights / weights.sum(axis=0)).astype(np.float32)


def write_pair(folder, lowres_side, highres_side, seed=0):
    """Write ``lowres.mat`` and ``highres.mat`` of one synthetic area; returns their paths."""
    rng = np.random.default_rng(seed)
    wavenumbers = np.linspace(100.0, 3800.0, CHANNELS)
    spectra = phase_spectra(wavenumbers)
    fine = specimen((lowres_side * FACTOR, lowres_side * FACTOR), rng)
    top = left = (lowres_side * FACTOR - highres_side) // 3
    scans = {
        "lowres": (fine[:, FACTOR // 2 :: FACTOR, FACTOR // 2 :: FACTOR], LOWRES_STEP_UM, 1000.0),
        "highres": (fine[:, top : top + highres_side, left : left + highres_side], HIGHRES_STEP_UM, 400.0),
    }
    paths = {}
    for name, (abundance, step, counts) in scans.items():
        cube = np.einsum("krc,kl->rcl", abundance, spectra * counts, optimize=True)
        cube += rng.normal(0.0, 5.0, cube.shape).astype(np.float32) + 50.0
        paths[name] = folder / f"{name}.mat"
        write_scan(Scan(cube, wavenumbers, (step, step), name=name), paths[name])
    return paths


# --------------------------------------------------------------------------- floors (in process)


def timed(action, *args, **kwargs):
    started = time.perf_counter()
    result = action(*args, **kwargs)
    return time.perf_counter() - started, result


def floors(paths, config, lowres_side):
    """Seconds of each stage's computation on in-memory arrays (the file reads for convert)."""
    from ramansr.decompose import fit_nmf, fit_pca, transform_nmf
    from ramansr.inference import super_resolve
    from ramansr.models import build
    from ramansr.preprocess import preprocess_cube
    from ramansr.register import register_area
    from ramansr.selection import select_components

    pre, dec = config["preprocess"], config["decompose"]
    result = {}
    read_lr, lowres = timed(read_scan, paths["lowres"])
    read_hr, highres = timed(read_scan, paths["highres"])
    result["convert"] = {"lowres": read_lr, "highres": read_hr}
    options = {"despike_threshold": pre["despike"]["threshold"], "clip_percentile": pre["clip_percentile"]}
    scaled = {}
    result["preprocess"] = {}
    for name, scan in (("lowres", lowres), ("highres", highres)):
        seconds, out = timed(preprocess_cube, scan.cube, pre["window_length"], pre["polyorder"], **options)
        result["preprocess"][name], scaled[name] = seconds, out[0]
    started = time.perf_counter()
    lr_maps, _, model = fit_nmf(
        scaled["lowres"], dec["n_components"], seed=dec["seed"], max_iter=dec["max_iter"], tol=dec["tol"]
    )
    hr_maps = transform_nmf(model, scaled["highres"])
    fit_pca(scaled["lowres"], dec["pca_components"])
    result["decompose"] = time.perf_counter() - started
    result["register"], _ = timed(register_area, lr_maps, hr_maps, FACTOR)
    result["select"], _ = timed(select_components, lr_maps, hr_maps)
    result["area_geometry"] = 0.0  # reads two small JSON headers: no computation to speak of
    for name in ("linear", "srcnn"):
        network = build(name, scaling_factor=FACTOR)
        seconds, _ = timed(super_resolve, network, lr_maps, device="cpu")
        result[f"inference_{name}_per_map"] = seconds / len(lr_maps)
    return result


# --------------------------------------------------------------------------- jobs


def run_pipeline(workdir, sheet, areas, cores):
    """Run the per-area stages of every area with Snakemake; returns its benchmark records."""
    overrides = workdir / "bench_scaling.yaml"
    # no dataset is built here, so any number of areas will do
    settings = {"source": "samples", "samples": str(sheet), "dataset": {"group_by_area": False}}
    overrides.write_text(yaml.safe_dump(settings))
    # selection and registration: neither needs the other, so both are asked for
    targets = [
        f"results/{stage}/{sample}/{area}.json" for sample, area in areas for stage in ("selection", "registration")
    ]
    # targets first: --configfile takes every argument after it
    command = [sys.executable, "-m", "snakemake", *targets, "--cores", str(cores), "--configfile", str(overrides)]
    finished = subprocess.run(command, cwd=workdir, capture_output=True, text=True)
    if finished.returncode:
        sys.exit(f"snakemake failed:\n{finished.stderr[-4000:]}")
    rows = []
    for path in (workdir / "results" / "benchmarks").rglob("*.tsv"):
        parts = path.relative_to(workdir / "results" / "benchmarks").with_suffix("").parts
        if len(parts) < 3:
            continue  # run-wide aggregation rules
        record = pd.read_csv(path, sep="\t").iloc[-1]
        rows.append(
            {
                "stage": BENCHMARK_FOLDERS.get(parts[0], parts[0]),
                "sample": parts[1],
                "area": parts[2],
                "scan": parts[3] if len(parts) > 3 else "",
                "job_s": float(record["s"]),
                "rss_mb": float(record["max_rss"]),
            }
        )
    return pd.DataFrame(rows)


def run_predict(workdir, lowres_path, model_name, config):
    """Wall seconds and peak RSS (MB) of ``ramansr-predict`` with an untrained checkpoint of ``model_name``."""
    from ramansr.dataset import INTENSITY_CONVENTION
    from ramansr.processing import processing_settings
    from ramansr.train import save_checkpoint

    checkpoint = workdir / f"{model_name}.pt"
    save_checkpoint(
        {
            "model_name": model_name,
            "model_kwargs": {"scaling_factor": FACTOR},
            "pipeline": processing_settings(config),
            "model_state": None if model_name == "linear" else _initial_state(model_name),
            "epoch": 0,
            "settings": {},
            "history": [],
            "intensity_convention": INTENSITY_CONVENTION,
        },
        checkpoint,
    )
    # the peak from VmHWM, not getrusage: Linux keeps ru_maxrss across fork and exec, so a child
    # would report this (larger) process's peak
    code = (
        "import sys, time; started = time.perf_counter()\n"
        "from ramansr.predict import main\n"
        f"main([{str(lowres_path)!r}, {str(checkpoint)!r}, '--out-prefix', {str(workdir / 'predicted')!r},"
        " '--device', 'cpu'])\n"
        "peak = next(line for line in open('/proc/self/status') if line.startswith('VmHWM')).split()[1]\n"
        "print(time.perf_counter() - started, int(peak) / 1024, file=sys.stderr)"
    )
    finished = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    if finished.returncode:
        sys.exit(f"ramansr-predict failed:\n{finished.stderr[-4000:]}")
    seconds, rss_mb = map(float, finished.stderr.strip().splitlines()[-1].split())
    return seconds, rss_mb


def _initial_state(model_name):
    from ramansr.models import build

    return build(model_name, scaling_factor=FACTOR).state_dict()


# --------------------------------------------------------------------------- table


def loglog_slope(points, seconds, low=40_000, high=160_000):
    """Slope of log(time) against log(points) between the two sizes (None if either is missing)."""
    by_size = dict(zip(points, seconds, strict=True))
    if low not in by_size or high not in by_size or by_size[low] <= 0:
        return None
    return float(np.log(by_size[high] / by_size[low]) / np.log(high / low))


def summarize(jobs, floor_rows):
    """One row per stage and size: job time, floor, ratio, overhead, RSS against the cube."""
    table = jobs.merge(floor_rows, on=["stage", "lowres_side", "highres_side", "scan"], how="left")
    table["ratio"] = table["job_s"] / table["floor_s"]
    table["overhead_s"] = table["job_s"] - table["floor_s"]
    table["rss_cube_ratio"] = table["rss_mb"] / table["cube_mb"]
    return table


def print_table(table):
    table = table.reindex(columns=list(dict.fromkeys([*table.columns, "floor_s", "ratio", "overhead_s"])))
    columns = [
        "stage",
        "scan",
        "points",
        "highres_side",
        "job_s",
        "floor_s",
        "ratio",
        "overhead_s",
        "rss_mb",
        "cube_mb",
        "rss_cube_ratio",
    ]
    shown = table[columns].sort_values(["stage", "scan", "highres_side", "points"])
    print(shown.to_markdown(index=False, floatfmt=".2f"))
    print()
    print(f"Targets: slope <= {SLOPE_TARGET} (40k -> 160k points), RSS <= {RSS_CUBE_RATIO_TARGET}x the cube,")
    print(
        f"RSS <= {RSS_90K_TARGET_MB:.0f} MB at 90k x {CHANNELS}, overhead <= 0.5 s for {', '.join(OVERHEAD_TARGET_S)}"
    )
    print()
    print("| stage | scan | HR side | slope 40k->160k | met | max RSS/cube | met | overhead (max s) | met |")
    print("|---|---|---|---|---|---|---|---|---|")
    for (stage, scan, highres_side), group in table.groupby(["stage", "scan", "highres_side"]):
        slope = loglog_slope(group["points"], group["job_s"])
        worst_ratio = group["rss_cube_ratio"].max()
        at_90k = group.loc[group["points"] == 90_000, "rss_mb"]
        rss_met = worst_ratio <= RSS_CUBE_RATIO_TARGET and (at_90k <= RSS_90K_TARGET_MB).all()
        overhead = group["overhead_s"].max()
        target = OVERHEAD_TARGET_S.get(stage)
        print(
            f"| {stage} | {scan or '-'} | {highres_side} | "
            f"{'-' if slope is None else f'{slope:.2f}'} | "
            f"{'-' if slope is None else ('yes' if slope <= SLOPE_TARGET else 'NO')} | "
            f"{worst_ratio:.2f} | {'yes' if rss_met else 'NO'} | {overhead:.2f} | "
            f"{'-' if target is None else ('yes' if overhead <= target else 'NO')} |"
        )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lowres", type=int, nargs="+", default=[100, 200, 300, 400], help="LR points a side")
    parser.add_argument("--highres", type=int, nargs="+", default=[100, 200], help="HR points a side")
    parser.add_argument("--cores", type=int, default=1, help="Snakemake cores (1: one job at a time, no contention)")
    parser.add_argument("--json", type=Path, help="also write every measurement here")
    parser.add_argument("--keep", action="store_true", help="keep the scratch folder and print its path")
    parser.add_argument("--predict-only", action="store_true", help="only the predict stage (no pipeline, no floors)")
    args = parser.parse_args(argv)
    scratch = Path(tempfile.mkdtemp(prefix="ramansr-scaling-"))
    workdir = scratch / "repo"
    shutil.copytree(REPO, workdir, ignore=IGNORE)
    config = yaml.safe_load((REPO / "config.yaml").read_text())
    sizes = [(lr, hr) for lr in args.lowres for hr in args.highres if hr * HIGHRES_STEP_UM < lr * LOWRES_STEP_UM]
    rows, floor_rows, areas, lowres_paths, inference = [], [], [], {}, []
    for index, (lowres_side, highres_side) in enumerate(sizes):
        sample, area = f"L{lowres_side}", f"H{highres_side}"
        folder = scratch / "scans" / sample / area
        folder.mkdir(parents=True)
        paths = write_pair(folder, lowres_side, highres_side, seed=index)
        lowres_paths[lowres_side] = paths["lowres"]
        rows.append({"sample": sample, "area": area, **{k: str(v) for k, v in paths.items()}})
        areas.append((sample, area))
        if args.predict_only:
            continue
        measured = floors(paths, config, lowres_side)
        cube_mb = {"lowres": lowres_side**2 * CHANNELS * 4 / 1e6, "highres": highres_side**2 * CHANNELS * 4 / 1e6}
        for stage in ("convert", "preprocess"):
            for scan in ("lowres", "highres"):
                floor_rows.append((stage, lowres_side, highres_side, scan, measured[stage][scan], cube_mb[scan]))
        for stage in ("area_geometry", "decompose", "register", "select"):
            both = cube_mb["lowres"] + cube_mb["highres"]
            floor_rows.append((stage, lowres_side, highres_side, "", measured[stage], both))
        inference += [
            {"model": name, "points": lowres_side**2, "seconds_per_map": measured[f"inference_{name}_per_map"]}
            for name in ("linear", "srcnn")
        ]
        print(
            f"{sample}/{area}: floors "
            + ", ".join(f"{k} {v if isinstance(v, float) else sum(v.values()):.2f}s" for k, v in measured.items()),
            file=sys.stderr,
        )
    sheet = scratch / "samples.tsv"
    pd.DataFrame(rows).to_csv(sheet, sep="\t", index=False)
    floor_table = pd.DataFrame(
        floor_rows, columns=["stage", "lowres_side", "highres_side", "scan", "floor_s", "cube_mb"]
    )
    if not args.predict_only:
        jobs = run_pipeline(workdir, sheet, areas, args.cores)
        jobs["lowres_side"] = jobs["sample"].str[1:].astype(int)
        jobs["highres_side"] = jobs["area"].str[1:].astype(int)
    predict_rows = []
    for lowres_side, path in lowres_paths.items():
        for model_name in ("linear", "srcnn"):
            seconds, rss_mb = run_predict(scratch, path, model_name, config)
            predict_rows.append(
                {
                    "stage": "predict",
                    "scan": model_name,
                    "lowres_side": lowres_side,
                    "highres_side": 0,
                    "job_s": seconds,
                    "rss_mb": rss_mb,
                }
            )
    table = None if args.predict_only else summarize(jobs, floor_table)
    # the cube a prediction processes is its LR scan: the HR cube it rebuilds (FACTOR^2 times larger)
    # goes to its file a block of rows at a time and is never held whole
    predict = pd.DataFrame(predict_rows).assign(cube_mb=lambda t: t["lowres_side"] ** 2 * CHANNELS * 4 / 1e6)
    predict["rss_cube_ratio"] = predict["rss_mb"] / predict["cube_mb"]
    table = pd.concat([table, predict], ignore_index=True)
    table["points"] = table["lowres_side"] ** 2
    print_table(table)
    inference = pd.DataFrame(inference, columns=["model", "points", "seconds_per_map"])
    inference = inference.drop_duplicates(["model", "points"])
    if len(inference):
        print()
        print("Inference per LR map (in process, CPU, untrained weights):")
        print(inference.pivot(index="points", columns="model", values="seconds_per_map").to_markdown(floatfmt=".3f"))
    if args.json:
        args.json.write_text(
            json.dumps({"stages": table.to_dict(orient="records"), "inference": inference.to_dict(orient="records")})
        )
    if args.keep:
        print(f"scratch: {scratch}", file=sys.stderr)
    else:
        shutil.rmtree(scratch)
    print(f"peak RSS of this process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    main()
