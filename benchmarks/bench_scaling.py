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
timed alone too. ``simulate`` and ``clean_maps``, which only simulated data have,
run on one simulated area per LR size (the simulator's scans at that size and
1024 channels, the paper's 100 x 100 HR scan). One training epoch of SRResNet
(the config's settings, 8 synthetic pairs with a 100 x 100 HR window,
bench_train.py's) is timed per LR map size in crop mode (the config's: the LR
region under the window plus a margin) and, up to 200 x 200 LR points, in full
mode (the whole LR map; larger, a batch's activations at HR size outgrow a
workstation's memory).

Targets (issue 13): slope <= 1.1; peak RSS <= 3x the float32 cube a job
processes and <= 2 GB at 90k x 1024; overhead <= 0.5 s for convert, preprocess,
register and select. The table marks each. Times are wall seconds on this
machine: run it alone (anything else running inflates jobs and floors alike).

    python benchmarks/bench_scaling.py                  # every size (tens of minutes)
    python benchmarks/bench_scaling.py --lowres 100 200 --highres 100 --json out.json
    python benchmarks/bench_scaling.py --only predict --highres 100     # predict alone (minutes)
    python benchmarks/bench_scaling.py --only simulated training        # the simulator's stages, training epochs
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
TRAINING_WINDOW = 100  # HR window side of the training-epoch pairs
FULL_MODE_MAX_SIDE = 200  # full-mode training above: 8 maps' HR activations take tens of GB


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
    scaled = {}
    result["preprocess"] = {}
    for name, scan in (("lowres", lowres), ("highres", highres)):
        seconds, out = timed(preprocess_cube, scan.cube, scan.wavenumbers, pre, name=name)
        result["preprocess"][name], scaled[name] = seconds, out[0]
    started = time.perf_counter()
    lr_maps, _, model = fit_nmf(
        scaled["lowres"], dec["n_components"], seed=dec["seed"], max_iter=dec["max_iter"], tol=dec["tol"]
    )
    hr_maps = transform_nmf(model, scaled["highres"])
    fit_pca(scaled["lowres"], dec["pca_components"])
    result["decompose"] = time.perf_counter() - started
    result["register"], registration = timed(register_area, lr_maps, hr_maps, FACTOR)
    window = ((registration["X"], registration["Y"]), FACTOR)
    result["select"], _ = timed(select_components, lr_maps, hr_maps, **config["select"], window=window)
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


def measure_simulated(scratch, lowres_sides, cores):
    """``simulate`` and ``clean_maps``, the stages of simulated data only: one simulated area per LR size.

    The simulator's geometry is the run's, so each size is its own Snakemake run (sample A, area 1, an
    LR scan of ``side`` x ``side`` points, the paper's 100 x 100 HR scan, ``CHANNELS`` channels).
    """
    from ramansr.simulate.settings import default_settings

    highres_side = default_settings()["highres"]["points"]
    rows = []
    for side in lowres_sides:
        workdir = scratch / f"simulated_{side}"
        shutil.copytree(REPO, workdir, ignore=IGNORE)
        overrides = workdir / "bench_scaling.yaml"
        simulation = {"samples": ["A"], "areas": 1, "channels": CHANNELS, "lowres": {"points": side}}
        # no dataset is built here, so one area will do
        overrides.write_text(yaml.safe_dump({"simulation": simulation, "dataset": {"group_by_area": False}}))
        target = "results/decomposition/A/1/clean_maps.npz"
        command = [sys.executable, "-m", "snakemake", target, "--cores", str(cores), "--configfile", str(overrides)]
        finished = subprocess.run(command, cwd=workdir, capture_output=True, text=True)
        if finished.returncode:
            sys.exit(f"snakemake failed:\n{finished.stderr[-4000:]}")
        cube_mb = (side**2 + highres_side**2) * CHANNELS * 4 / 1e6
        for stage in ("simulate", "clean_maps"):
            record = pd.read_csv(workdir / f"results/benchmarks/{stage}/A/1.tsv", sep="\t").iloc[-1]
            rows.append(
                {
                    "stage": stage,
                    "scan": "",
                    "lowres_side": side,
                    "highres_side": highres_side,
                    "job_s": float(record["s"]),
                    "rss_mb": float(record["max_rss"]),
                    "cube_mb": cube_mb,
                }
            )
        shutil.rmtree(workdir)
    table = pd.DataFrame(rows)
    table["rss_cube_ratio"] = table["rss_mb"] / table["cube_mb"]
    return table


def run_predict(workdir, lowres_path, model_name, config):
    """Wall seconds and peak RSS (MB) of ``ramansr-predict`` with an untrained checkpoint of ``model_name``."""
    from ramansr.checkpoint import save_checkpoint
    from ramansr.convention import INTENSITY_CONVENTION
    from ramansr.processing import processing_settings

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
        "from ramansr.prediction.cli import main\n"
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


def training_epoch_seconds(folder, lowres_side, mode, config, model_name="srresnet"):
    """Wall seconds of one training epoch on 8 synthetic pairs of ``lowres_side`` LR maps and 100 x 100 HR windows.

    Three epochs run; the second is timed: the first carries one-off costs, the last validates on whole maps.
    """
    from bench_train import write_pairs  # this folder's benchmark of training

    from ramansr.train import train_model

    folder.mkdir(parents=True, exist_ok=True)
    pairs_path, split_path = write_pairs(folder, 8, 2, lowres_side, TRAINING_WINDOW)
    settings = {**config["training"], **(config["model_settings"].get(model_name) or {})}
    settings.update(mode=mode, epochs=3, warmup_epochs=1, val_every=3, checkpoint_every=3)
    ends = []
    train_model(
        model_name,
        pairs_path,
        split_path,
        folder / f"{model_name}_{mode}",
        settings,
        device="cpu",
        on_epoch_end=lambda epoch, row: ends.append(time.perf_counter()),
    )
    return ends[1] - ends[0]


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


def training_table(scratch, lowres_sides, config):
    """Seconds per training epoch, one row per LR map size, a column per mode."""
    rows = [
        {
            "points": side**2,
            "mode": mode,
            "epoch_s": training_epoch_seconds(scratch / "training" / str(side), side, mode, config),
        }
        for side in lowres_sides
        for mode in ("crop", "full")
        if mode == "crop" or side <= FULL_MODE_MAX_SIDE
    ]
    return pd.DataFrame(rows).pivot(index="points", columns="mode", values="epoch_s")


def print_training(training):
    print()
    print(f"One training epoch (SRResNet, CPU, 8 pairs, {TRAINING_WINDOW} x {TRAINING_WINDOW} HR window), seconds:")
    print(training.to_markdown(floatfmt=".2f"))


PARTS = ("stages", "predict", "simulated", "training")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lowres", type=int, nargs="+", default=[100, 200, 300, 400], help="LR points a side")
    parser.add_argument("--highres", type=int, nargs="+", default=[100, 200], help="HR points a side")
    parser.add_argument("--cores", type=int, default=1, help="Snakemake cores (1: one job at a time, no contention)")
    parser.add_argument("--json", type=Path, help="also write every measurement here")
    parser.add_argument("--keep", action="store_true", help="keep the scratch folder and print its path")
    parser.add_argument("--only", nargs="+", choices=PARTS, default=list(PARTS), help="measure only these parts")
    args = parser.parse_args(argv)
    scratch = Path(tempfile.mkdtemp(prefix="ramansr-scaling-"))
    config = yaml.safe_load((REPO / "config.yaml").read_text())
    tables, inference, training = [], pd.DataFrame(), None
    if {"stages", "predict"} & set(args.only):
        stages, inference, lowres_paths = measure_stages(scratch, args, config)
        tables.append(stages)
        if "predict" in args.only:
            tables.append(measure_predict(scratch, lowres_paths, config))
    if "simulated" in args.only:
        tables.append(measure_simulated(scratch, args.lowres, args.cores))
    table = pd.concat(tables, ignore_index=True) if tables else pd.DataFrame()
    if len(table):
        table["points"] = table["lowres_side"] ** 2
        print_table(table)
    if len(inference):
        print()
        print("Inference per LR map (in process, CPU, untrained weights):")
        print(inference.pivot(index="points", columns="model", values="seconds_per_map").to_markdown(floatfmt=".3f"))
    if "training" in args.only:
        training = training_table(scratch, args.lowres, config)
        print_training(training)
    if args.json:
        records = {"stages": table.to_dict(orient="records"), "inference": inference.to_dict(orient="records")}
        if training is not None:
            records["training"] = training.reset_index().to_dict(orient="records")
        args.json.write_text(json.dumps(records))
    if args.keep:
        print(f"scratch: {scratch}", file=sys.stderr)
    else:
        shutil.rmtree(scratch)
    print(f"peak RSS of this process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


def measure_stages(scratch, args, config):
    """The per-area stages' jobs on the synthetic WITec scans, against their floors (none with --only predict).

    Returns
    -------
    table : DataFrame
        One row per stage, size and scan (empty with --only predict).
    inference : DataFrame
        Seconds per LR map of each network (empty with --only predict).
    lowres_paths : dict
        LR side -> the LR scan written for it, for :func:`measure_predict`.
    """
    with_stages = "stages" in args.only
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
        if not with_stages:
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
    inference = pd.DataFrame(inference, columns=["model", "points", "seconds_per_map"])
    if not with_stages:
        return pd.DataFrame(), inference, lowres_paths
    sheet = scratch / "samples.tsv"
    pd.DataFrame(rows).to_csv(sheet, sep="\t", index=False)
    floor_table = pd.DataFrame(
        floor_rows, columns=["stage", "lowres_side", "highres_side", "scan", "floor_s", "cube_mb"]
    )
    workdir = scratch / "repo"
    shutil.copytree(REPO, workdir, ignore=IGNORE)
    jobs = run_pipeline(workdir, sheet, areas, args.cores)
    jobs["lowres_side"] = jobs["sample"].str[1:].astype(int)
    jobs["highres_side"] = jobs["area"].str[1:].astype(int)
    return summarize(jobs, floor_table), inference.drop_duplicates(["model", "points"]), lowres_paths


def measure_predict(scratch, lowres_paths, config):
    """``ramansr-predict`` on each LR scan, with the linear baseline and an untrained SRCNN."""
    rows = []
    for lowres_side, path in lowres_paths.items():
        for model_name in ("linear", "srcnn"):
            seconds, rss_mb = run_predict(scratch, path, model_name, config)
            rows.append(
                {
                    "stage": "predict",
                    "scan": model_name,
                    "lowres_side": lowres_side,
                    "highres_side": 0,
                    "job_s": seconds,
                    "rss_mb": rss_mb,
                }
            )
    # the cube a prediction processes is its LR scan: the HR cube it rebuilds (FACTOR^2 times larger)
    # goes to its file a block of rows at a time and is never held whole
    table = pd.DataFrame(rows).assign(cube_mb=lambda t: t["lowres_side"] ** 2 * CHANNELS * 4 / 1e6)
    table["rss_cube_ratio"] = table["rss_mb"] / table["cube_mb"]
    return table


if __name__ == "__main__":
    main()
