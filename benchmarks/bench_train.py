"""Time training of the four SR models on synthetic maps; optionally compare crop and full mode.

Timing (default): for each model, mode and precision, train on 40 pairs of
random-but-smooth 100 x 100 LR maps with 100 x 100 HR windows (the paper's
geometry) and print a table with the time extrapolated to 1000 epochs.
Targets on one H200: SRResNet <= 60 s, RCAN <= 5 min, all four <= 10 min.

    python benchmarks/bench_train.py                       # GPU: 20 epochs each, extrapolated
    python benchmarks/bench_train.py --epochs 2 --quick    # CPU smoke run: 4 + 2 small pairs

Crop against full mode (``--compare-modes``): train the same small SRResNet
from the same seed in both modes and print validation PSNR (full maps, data
range 1), the bicubic baseline's PSNR and the time.

    python benchmarks/bench_train.py --compare-modes --epochs 60 --pairs 24 --lowres-size 40 --window-size 40

Results also go to ``--out`` (JSON, with the settings that produced them).
"""

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from scipy.ndimage import gaussian_filter

from ramansr.io_utils import write_json
from ramansr.models import AUTO_PRECISION
from ramansr.train import train_model

# the synthetic pairs' SR factor: the paper's 2 um / 0.5 um geometry (pairs.npz carries it to training)
FACTOR = 4
TARGETS_SECONDS = {"srresnet": 60, "rcan": 300}
ALL_FOUR_TARGET_SECONDS = 600


def smooth_field(rng, size, n_blobs=6):
    """A [0, 1] map: smooth noise plus a few sharp-edged discs, so that SR has edges to recover."""
    field = gaussian_filter(rng.random((size, size)), size / 24)
    field = (field - field.min()) / (field.max() - field.min())
    rows, cols = np.mgrid[0:size, 0:size]
    for _ in range(n_blobs):
        row, col = rng.uniform(0, size, 2)
        radius = rng.uniform(size / 40, size / 10)
        field += rng.uniform(0.3, 1.0) * (((rows - row) ** 2 + (cols - col) ** 2) < radius**2)
    return (field - field.min()) / (field.max() - field.min())


def write_pairs(folder, n_train, n_val, lowres_size, window_size, seed=0, noise=0.01):
    """Synthetic ``pairs.npz`` and ``split.csv``: LR = FACTOR x FACTOR block mean of an HR field (+ noise),
    HR = a window of it.

    Returns
    -------
    pairs_path, split_path : Path
    """
    rng = np.random.default_rng(seed)
    lowres, highres, positions = [], [], []
    for _ in range(n_train + n_val):
        field = smooth_field(rng, FACTOR * lowres_size)
        x, y = rng.uniform(0, FACTOR * lowres_size - window_size, 2)
        column, row = int(np.rint(x)), int(np.rint(y))
        small = field.reshape(lowres_size, FACTOR, lowres_size, FACTOR).mean(axis=(1, 3))
        small = np.clip(small + rng.normal(0, noise, small.shape), 0, 1)
        lowres.append(small)
        highres.append(field[row : row + window_size, column : column + window_size])
        positions.append((x, y))
    pair_ids = np.array([f"synthetic_a{index}_c0" for index in range(n_train + n_val)])
    folder = Path(folder)
    np.savez(
        folder / "pairs.npz",
        lowres=np.array(lowres, np.float32),
        highres=np.array(highres, np.float32),
        position=np.array(positions, np.float32),
        pair_id=pair_ids,
        factor=np.array(FACTOR),
    )
    pd.DataFrame(
        {
            "pair_id": pair_ids,
            "sample": "synthetic",
            "area": [f"a{index}" for index in range(len(pair_ids))],
            "component": 0,
            "X": [p[0] for p in positions],
            "Y": [p[1] for p in positions],
            "split": ["train"] * n_train + ["val"] * n_val,
        }
    ).to_csv(folder / "split.csv", index=False)
    return folder / "pairs.npz", folder / "split.csv"


def timed_training(model_name, pairs_path, split_path, out_dir, settings):
    """Train once; return the summary with per-epoch wall times and a 1000-epoch estimate.

    The first epoch carries the one-off costs (cuDNN's algorithm search,
    allocations), so the estimate is the first epoch plus 999 steady epochs.
    """
    epoch_ends = []
    started = time.perf_counter()
    summary = train_model(
        model_name,
        pairs_path,
        split_path,
        out_dir,
        settings,
        on_epoch_end=lambda epoch, row: epoch_ends.append(time.perf_counter()),
    )
    total = time.perf_counter() - started
    durations = np.diff([started, *epoch_ends])
    steady = durations[1:].mean() if len(durations) > 1 else durations[0]
    summary.update(
        seconds=total,
        first_epoch_seconds=float(durations[0]),
        steady_epoch_seconds=float(steady),
        estimated_1000_epochs_seconds=float(durations[0] + 999 * steady),
    )
    return summary


def run_timing(args, pairs_path, split_path, work):
    """Time every model x mode x precision; print the table; return the rows."""
    rows = []
    print(
        f"{'model':9} {'mode':5} {'prec':5} {'epochs':>6} {'s':>8} {'s/epoch':>8} {'1000 ep (s)':>11} "
        f"{'target':>7} {'val PSNR':>8}",
        flush=True,
    )
    for model_name in args.models:
        for mode in args.modes:
            for precision in args.precisions:
                settings = {
                    "epochs": args.epochs,
                    "batch_size": args.batch_size,
                    "val_every": args.epochs,
                    "checkpoint_every": args.epochs,
                    "mode": mode,
                    "margin": args.margin,
                    "precision": precision,
                    "augment": True,
                    "seed": 0,
                }
                out_dir = work / f"{model_name}_{mode}_{precision}"
                summary = timed_training(model_name, pairs_path, split_path, out_dir, settings)
                target = TARGETS_SECONDS.get(model_name)
                row = {
                    "model": model_name,
                    "mode": mode,
                    "precision": summary["precision"],
                    "epochs": args.epochs,
                    "seconds": summary["seconds"],
                    "steady_epoch_seconds": summary["steady_epoch_seconds"],
                    "estimated_1000_epochs_seconds": summary["estimated_1000_epochs_seconds"],
                    "target_seconds": target,
                    "val_psnr": summary["best_val_psnr"],
                    "n_parameters": summary["n_parameters"],
                    "device": summary["device"],
                }
                rows.append(row)
                print(
                    f"{model_name:9} {mode:5} {row['precision']:5} {args.epochs:6d} {row['seconds']:8.2f} "
                    f"{row['steady_epoch_seconds']:8.3f} {row['estimated_1000_epochs_seconds']:11.1f} "
                    f"{target if target else '-':>7} {row['val_psnr']:8.2f}",
                    flush=True,
                )
    # the "all four" budget: each model's fastest measured configuration
    fastest = {}
    for row in rows:
        best = fastest.get(row["model"])
        if best is None or row["estimated_1000_epochs_seconds"] < best["estimated_1000_epochs_seconds"]:
            fastest[row["model"]] = row
    total = sum(row["estimated_1000_epochs_seconds"] for row in fastest.values())
    print(
        f"all models, fastest configuration each, 1000 epochs: {total:.1f} s "
        f"(target {ALL_FOUR_TARGET_SECONDS} s for the four)",
        flush=True,
    )
    return {"rows": rows, "fastest_total_1000_epochs_seconds": total}


def run_compare_modes(args, pairs_path, split_path, work):
    """Crop against full mode, same model, seed and epochs; print validation PSNR and time."""
    results = []
    bicubic = train_model("bicubic", pairs_path, split_path, work / "bicubic", {})
    print(f"bicubic baseline: val PSNR {bicubic['best_val_psnr']:.2f} dB", flush=True)
    print(f"{'mode':5} {'seed':>4} {'epochs':>6} {'best val PSNR':>13} {'final val PSNR':>14} {'s':>8}", flush=True)
    for seed in range(args.compare_seeds):
        for mode in ("crop", "full"):
            settings = {
                "epochs": args.epochs,
                "batch_size": args.batch_size,
                "learning_rate": args.learning_rate,
                "val_every": max(1, args.epochs // 10),
                "checkpoint_every": args.epochs,
                "mode": mode,
                "margin": args.margin,
                "augment": True,
                "seed": seed,
                "model": args.compare_model,
            }
            summary = timed_training("srresnet", pairs_path, split_path, work / f"compare_{mode}_{seed}", settings)
            history = pd.read_csv(work / f"compare_{mode}_{seed}" / "history.csv")
            final_psnr = float(history["val_psnr"].dropna().iloc[-1])
            results.append(
                {
                    "mode": mode,
                    "seed": seed,
                    "best_val_psnr": summary["best_val_psnr"],
                    "final_val_psnr": final_psnr,
                    "seconds": summary["seconds"],
                    "val_psnr_curve": history["val_psnr"].dropna().round(3).tolist(),
                }
            )
            print(
                f"{mode:5} {seed:4d} {args.epochs:6d} {summary['best_val_psnr']:13.2f} {final_psnr:14.2f} "
                f"{summary['seconds']:8.1f}",
                flush=True,
            )
    return {"bicubic_val_psnr": bicubic["best_val_psnr"], "runs": results}


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, help="epochs per run (default 20; --compare-modes: 60)")
    parser.add_argument(
        "--quick",
        action="store_true",
        help="4 + 2 pairs of 24 x 24 LR maps, 32 x 32 windows, margin 4: a CPU smoke run",
    )
    parser.add_argument("--pairs", type=int, default=40, help="training pairs (default 40)")
    parser.add_argument("--val-pairs", type=int, default=6, help="validation pairs (default 6)")
    parser.add_argument("--lowres-size", type=int, default=100, help="LR map side (default 100)")
    parser.add_argument("--window-size", type=int, default=100, help="HR window side (default 100)")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--margin", type=int, default=8, help="crop mode's LR margin (default 8)")
    parser.add_argument("--models", nargs="+", default=["srcnn", "srresnet", "srgan", "rcan"])
    parser.add_argument("--modes", nargs="+", default=["full", "crop"], choices=["full", "crop"])
    parser.add_argument(
        "--precisions",
        nargs="+",
        default=["auto"],
        choices=["auto", "fp32", "tf32", "bf16"],
        help="on CPU everything runs in fp32",
    )
    parser.add_argument("--compare-modes", action="store_true", help="crop against full mode instead of timing")
    parser.add_argument(
        "--dataset",
        type=Path,
        help="a pipeline's results/dataset folder (pairs.npz, split.csv) to use instead of synthetic pairs",
    )
    parser.add_argument("--compare-seeds", type=int, default=1, help="seeds per mode in --compare-modes")
    parser.add_argument("--learning-rate", type=float, default=1e-3, help="--compare-modes only (default 1e-3)")
    parser.add_argument(
        "--compare-model",
        type=json.loads,
        default={"n_blocks": 4, "n_channels": 32},
        help="SRResNet kwargs for --compare-modes, as JSON (default 4 blocks, 32 channels)",
    )
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "out" / "bench_train.json")
    args = parser.parse_args(argv)
    if args.quick:
        args.pairs, args.val_pairs, args.lowres_size, args.window_size, args.margin = 4, 2, 24, 32, 4
    if args.epochs is None:
        args.epochs = 60 if args.compare_modes else 20
    return args


def main(argv=None):
    args = parse_args(argv)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    print(
        f"device {device}; torch {torch.__version__}; {args.pairs} + {args.val_pairs} pairs, LR "
        f"{args.lowres_size}^2, HR window {args.window_size}^2; auto precision: {AUTO_PRECISION}",
        flush=True,
    )
    with tempfile.TemporaryDirectory(prefix="bench_train_") as folder:
        work = Path(folder)
        if args.dataset:
            pairs_path, split_path = args.dataset / "pairs.npz", args.dataset / "split.csv"
        else:
            pairs_path, split_path = write_pairs(work, args.pairs, args.val_pairs, args.lowres_size, args.window_size)
        if args.compare_modes:
            results = run_compare_modes(args, pairs_path, split_path, work)
        else:
            results = run_timing(args, pairs_path, split_path, work)
    settings = {key: (str(value) if isinstance(value, Path) else value) for key, value in vars(args).items()}
    write_json({"settings": settings, "device": device, "torch": torch.__version__, **results}, args.out)
    print(f"wrote {args.out}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
