"""Scoring at the registered sub-pixel corner, and training on targets aligned to the model's grid.

The registration (:func:`ramansr.register.match_window`) places each HR window at a sub-pixel corner
(X, Y) of the upscaled LR map; the scores and the training loss have cut it at the corner rounded to
whole HR pixels (:func:`ramansr.metrics.crop_window`, :func:`ramansr.pairs.window_positions`). This
bench measures on a finished run's ``results/`` (read only; its pairs and split are copied):

- scoring: every model's test maps against the clean (noise-free) HR map, on the LR map's scale (as
  ``bench_pretrain.py`` and the test table's "clean" rows), with the window cut (i) at the rounded
  corner, as the tables do, and (ii) at the registered corner itself
  (``score_predictions(..., subpixel=True)``: the output resampled by a cubic spline); and the
  perfect-SR ceiling under both (``bench_pretrain.grid_ceiling``, simulated runs);
- training: each learned model retrained here with the pipeline's settings (those of ``config.yaml``,
  SRCNN's pretraining included, its optics the simulation's as the workflow gives them) on (A) the
  pairs as they are, rounded corners, and (B) aligned targets: each HR window resampled onto the
  model output's whole pixels (:func:`ramansr.pairs.align_windows`, one pixel smaller), written to a
  pair set of its own; ``B, jitter 0`` also drops the half-pixel jitter of SRCNN's synthetic targets,
  which only stood in for the rounding. ``run``: the run's own checkpoint (its time the pipeline's
  wall-clock seconds on 2 threads, not comparable with the CPU seconds of the others).

Each training's time is CPU seconds (one thread unless ``--threads``; the machine is shared, so wall
time is not comparable). ``--out CSV`` writes the rows; ``--render CSV...`` prints the table of
several such files (separate processes for separate models) without computing anything.

Measured on the default run (12 test maps against the clean HR map, LR scale; one thread on 2 cores
shared with other jobs, hence CPU seconds; the run's checkpoints: the pipeline's wall seconds on 2
threads; PSNR in dB, gain over bicubic in the same scoring):

| model | training | seed | (i) rounded: PSNR | gain | SSIM | (ii) sub-pixel: PSNR | gain | SSIM | CPU s |
|---|---|---|---|---|---|---|---|---|---|
| perfect SR | - | - | 32.04 | - | - | 41.78 | - | - | - |
| perfect SR | on the SR grid, cut by the cubic spline at (ii) | - | 32.04 | - | - | 36.59 | - | - | - |
| linear | - | - | 26.85 | -1.53 | 0.888 | 27.62 | -2.03 | 0.894 | - |
| bicubic | - | - | 28.38 | +0.00 | 0.878 | 29.65 | +0.00 | 0.886 | - |
| wiener | the run's checkpoint (rounded targets) | - | 28.57 | +0.19 | 0.883 | 29.92 | +0.27 | 0.891 | - |
| srcnn | the run's checkpoint (rounded targets) | 0 | 28.85 | +0.47 | 0.909 | 29.95 | +0.31 | 0.916 | (436 wall) |
| srcnn | rounded targets (as now) | 0 | 28.86 | +0.47 | 0.909 | 29.96 | +0.31 | 0.916 | 135 |
| srcnn | aligned targets | 0 | 28.49 | +0.11 | 0.910 | 29.76 | +0.11 | 0.918 | 136 |
| srcnn | aligned targets, pretraining jitter 0 | 0 | 28.57 | +0.18 | 0.910 | 29.95 | +0.30 | 0.917 | 133 |
| srcnn | rounded targets (as now) | 1 | 28.59 | +0.20 | 0.911 | 29.86 | +0.21 | 0.919 | 131 |
| srcnn | aligned targets | 1 | 28.66 | +0.28 | 0.911 | 30.01 | +0.36 | 0.918 | 127 |
| srcnn | aligned targets, pretraining jitter 0 | 1 | 28.70 | +0.32 | 0.911 | 30.05 | +0.41 | 0.918 | 128 |
| srresnet | the run's checkpoint (rounded targets) | 0 | 28.42 | +0.03 | 0.889 | 29.64 | -0.00 | 0.896 | (374 wall) |
| srresnet | rounded targets (as now) | 0 | 28.42 | +0.03 | 0.888 | 29.64 | -0.00 | 0.896 | 156 |
| srresnet | aligned targets | 0 | 28.42 | +0.03 | 0.889 | 29.62 | -0.03 | 0.896 | 152 |

The sub-pixel corner lifts every model by 1.1-1.3 dB, bicubic the most (+1.27): SRCNN's gain over
bicubic shrinks from +0.47 to +0.31 (the run's checkpoint). Aligned targets add no gain beyond that:
SRCNN over two seeds +0.24 (aligned) and +0.35 (aligned, jitter 0) against +0.26 (rounded), a
difference within the 0.1-0.25 dB between seeds; SRResNet -0.03 against -0.00. A perfect SR output on
the SR grid scores 36.59 dB when resampled at the exact corner (41.78 sampled there directly; the same
with linear or quintic splines): the HR maps carry detail beyond their own pixel grid's Nyquist
frequency (HR objective NA 0.8 at 488 nm: cut-off 3.3 cycles/um; 0.5 um pixels: Nyquist 1 cycle/um).

Run from the repository root::

    PYTHONPATH=src OMP_NUM_THREADS=1 python benchmarks/bench_subpixel.py RESULTS --models srcnn \\
        --seeds 0 1 --ceiling --out srcnn.csv
    PYTHONPATH=src OMP_NUM_THREADS=1 python benchmarks/bench_subpixel.py RESULTS --models srresnet \\
        --variants run A B --baselines --out srresnet.csv
    python benchmarks/bench_subpixel.py --render srcnn.csv srresnet.csv
"""

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_pretrain import grid_ceiling, imaging, model_settings

from ramansr.inference import super_resolve, super_resolve_pairs
from ramansr.metrics import score_predictions
from ramansr.models import build
from ramansr.pairs import align_windows
from ramansr.train import train_model

REPOSITORY = Path(__file__).resolve().parents[1]

#: What each variant trains on and with; see the module docstring.
VARIANTS = {
    "run": "the run's checkpoint (rounded targets)",
    "A": "rounded targets (as now)",
    "B": "aligned targets",
    "B0": "aligned targets, pretraining jitter 0",
    "-": "-",
    "spline": "on the SR grid, cut by the cubic spline at (ii)",
}


def aligned_pair_set(pairs, path):
    """Write ``pairs`` with every HR window (and clean window) on the upscaled grid to ``path``.

    Returns
    -------
    dict
        The aligned pair set's arrays.
    """
    lowres_shape = pairs["lowres"].shape[-2:]
    factor = int(pairs["factor"])
    aligned = dict(pairs)
    aligned["highres"], corners = align_windows(pairs["highres"], pairs["position"], lowres_shape, factor)
    aligned["highres_clean"], _ = align_windows(pairs["highres_clean"], pairs["position"], lowres_shape, factor)
    aligned["position"] = corners.astype(pairs["position"].dtype)
    np.savez(path, **aligned)
    return aligned


def settings_of(config, model_name, variant, seed):
    """The pipeline's settings of a model (pretraining with the simulation's optics), for a variant."""
    settings = model_settings(config, model_name)
    settings["seed"] = int(seed)
    pretraining = settings.get("pretrain") or {}
    if pretraining.get("enabled"):
        settings["pretrain"] = {**pretraining, "imaging": imaging(config)}
        if variant == "B0":
            settings["pretrain"]["jitter"] = 0.0
    elif variant == "B0":
        return None  # no pretraining, no jitter: B0 is B
    return settings


def test_rows(pairs, table):
    """The test maps' pairs and table rows (the scores are the test set's)."""
    test = (table["split"] == "test").to_numpy()
    keys = ("lowres", "highres", "highres_clean", "position")
    subset = {key: pairs[key][test] for key in keys}
    subset["factor"] = pairs["factor"]
    return subset, table[test].reset_index(drop=True)


def scores_both(model_name, upscaled, pairs, table):
    """Mean PSNR and SSIM against the clean map on the LR scale, at the (i) rounded and (ii) sub-pixel corner."""
    result = {}
    for key, subpixel in (("rounded", False), ("subpixel", True)):
        scores = score_predictions(model_name, upscaled, pairs, table, subpixel=subpixel)
        chosen = scores[(scores["reference"] == "clean") & (scores["scale"] == "common")]
        result[f"psnr_{key}"] = float(chosen["psnr"].mean())
        result[f"ssim_{key}"] = float(chosen["ssim"].mean())
    return result


def render(frame):
    """The markdown table, gains over bicubic in the same scoring."""
    bicubic = frame[frame["model"] == "bicubic"].iloc[0]
    lines = [
        "| model | training | seed | (i) rounded: PSNR | gain | SSIM | (ii) sub-pixel: PSNR | gain | SSIM | CPU s |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in frame.drop_duplicates(["model", "variant", "seed"]).itertuples():
        cells = []
        for key in ("rounded", "subpixel"):
            psnr, ssim = getattr(row, f"psnr_{key}"), getattr(row, f"ssim_{key}")
            gain = "-" if row.model == "perfect SR" else f"{psnr - bicubic[f'psnr_{key}']:+.2f}"
            cells += [f"{psnr:.2f}", gain, "-" if np.isnan(ssim) else f"{ssim:.3f}"]
        seconds = "-" if np.isnan(row.cpu_s) else f"{row.cpu_s:.0f}"
        if row.variant == "run" and not np.isnan(row.s):
            seconds = f"({row.s:.0f} wall)"
        seed = "-" if np.isnan(row.seed) else f"{int(row.seed)}"
        label = VARIANTS.get(row.variant, row.variant)
        lines.append(f"| {row.model} | {label} | {seed} | {' | '.join(cells)} | {seconds} |")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("results", type=Path, nargs="?", help="a finished run's results/ folder (read only)")
    parser.add_argument("--models", nargs="*", default=["srcnn"])
    parser.add_argument("--variants", nargs="*", default=["run", "A", "B", "B0"], choices=list(VARIANTS))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0])
    parser.add_argument("--baselines", action="store_true", help="also linear, bicubic and the run's wiener")
    parser.add_argument("--ceiling", action="store_true", help="also the perfect SR output (simulated runs)")
    parser.add_argument("--config", type=Path, default=REPOSITORY / "config.yaml")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--work", type=Path, default=None, help="keep the trained models here (default: a temp dir)")
    parser.add_argument("--out", type=Path, default=None, help="also write the rows as CSV")
    parser.add_argument("--render", nargs="+", type=Path, default=None, help="print the table of these CSVs")
    args = parser.parse_args()
    if args.render:
        print(render(pd.concat([pd.read_csv(path) for path in args.render], ignore_index=True)))
        return

    torch.set_num_threads(args.threads)
    config = yaml.safe_load(args.config.read_text())
    work = Path(args.work or tempfile.mkdtemp(prefix="bench_subpixel_"))
    work.mkdir(parents=True, exist_ok=True)
    for name in ("pairs.npz", "split.csv"):
        shutil.copyfile(args.results / "dataset" / name, work / name)
    with np.load(work / "pairs.npz") as archive:
        pairs = {key: archive[key] for key in archive.files}
    table = pd.read_csv(work / "split.csv", dtype={"sample": str, "area": str})
    sources = {"A": work / "pairs.npz", "B": work / "pairs_aligned.npz", "B0": work / "pairs_aligned.npz"}
    aligned_pair_set(pairs, sources["B"])
    test_pairs, test_table = test_rows(pairs, table)
    factor = int(pairs["factor"])

    rows = []

    def add(model, variant, seed, upscaled, s=np.nan, cpu_s=np.nan):
        row = {"model": model, "variant": variant, "seed": seed, "s": s, "cpu_s": cpu_s}
        row.update(scores_both(model, upscaled, test_pairs, test_table))
        rows.append(row)
        print(json.dumps(row), flush=True)

    if args.ceiling:
        ceiling = grid_ceiling(args.results, pairs, table)
        row = {"model": "perfect SR", "variant": "-", "seed": np.nan, "s": np.nan, "cpu_s": np.nan}
        row.update(psnr_rounded=ceiling["rounded"].mean(), psnr_subpixel=ceiling["exact"].mean())
        row.update(ssim_rounded=np.nan, ssim_subpixel=np.nan)
        rows.append(row)
        # the same output on the SR grid, resampled at the exact corner as sub-pixel scoring does
        rows.append({**row, "variant": "spline", "psnr_subpixel": ceiling["spline"].mean()})
        print(json.dumps(rows[-2:]), flush=True)
    for name in ("linear", "bicubic"):  # bicubic always: the gains are over it
        if name == "bicubic" or args.baselines:
            add(name, "-", np.nan, super_resolve(build(name, scaling_factor=factor), test_pairs["lowres"]))
    if args.baselines and (args.results / "models" / "wiener" / "best.pt").exists():
        checkpoint = args.results / "models" / "wiener" / "best.pt"
        add("wiener", "run", np.nan, super_resolve_pairs(checkpoint, test_pairs["lowres"], test_table))
    for model_name in args.models:
        for variant in args.variants:
            if variant == "run":
                checkpoint = args.results / "models" / model_name / "best.pt"
                seconds = json.loads((checkpoint.parent / "summary.json").read_text())["train_seconds"]
                add(model_name, "run", 0, super_resolve_pairs(checkpoint, test_pairs["lowres"], test_table), seconds)
                continue
            for seed in args.seeds:
                settings = settings_of(config, model_name, variant, seed)
                if settings is None:
                    continue
                out_dir = work / model_name / f"{variant}_seed{seed}"
                started, cpu_started = time.perf_counter(), time.process_time()
                train_model(model_name, sources[variant], work / "split.csv", out_dir, settings, device="cpu")
                seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu_started
                upscaled = super_resolve_pairs(out_dir / "best.pt", test_pairs["lowres"], test_table)
                add(model_name, variant, seed, upscaled, seconds, cpu_seconds)
    frame = pd.DataFrame(rows)
    if args.out:
        frame.to_csv(args.out, index=False)
    print()
    print(render(frame))


if __name__ == "__main__":
    main()
