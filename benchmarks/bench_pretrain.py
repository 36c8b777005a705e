"""Pretraining on synthetic pairs (issue 26, item 2) against training from scratch, on a finished run.

Takes a finished run's ``results/`` folder (read only: its ``dataset/pairs.npz`` and ``split.csv``
are copied), trains each model in each variant on its train/val split with the run's config
(``config.yaml`` of this checkout: ``training:`` and ``model_settings:``, as the ``train`` rule
merges them) plus the variant's overrides, and scores the test maps against the clean (noise-free)
HR map on the LR map's scale, as the test table's "clean HR map, on the LR map's scale" rows do
(:func:`ramansr.metrics.score_predictions`). Prints PSNR, its gain over bicubic, SSIM and the
training time (one thread unless ``--threads``).

Variants (``--variants``; ``--variant NAME=JSON`` adds one: overrides of the model's settings, a
``pretrain`` block included):

- ``run``: the run's own ``models/{model}/best.pt`` (trained by the pipeline; its time from its
  ``summary.json``, measured with the run's threads on its shared cores), not retrained;
- ``scratch``: the pipeline's settings, retrained here (the time on this bench's threads);
- ``pretrain``: :data:`PRETRAIN` first, then the pipeline's settings;
- ``pretrain_half``: :data:`PRETRAIN`, then half the pipeline's epochs (about the scratch time);
- ``scratch_long``: the pipeline's settings with twice the epochs.

Run from the repository root::

    PYTHONPATH=src OMP_NUM_THREADS=1 python benchmarks/bench_pretrain.py RESULTS --models srcnn \\
        --variants run scratch pretrain
"""

import argparse
import copy
import json
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import yaml

from ramansr.inference import super_resolve, super_resolve_pairs
from ramansr.metrics import score_predictions
from ramansr.models import build
from ramansr.simulate.settings import resolve_settings as simulation_settings
from ramansr.train import train_model

REPOSITORY = Path(__file__).resolve().parents[1]

#: The pretraining the ``pretrain`` variants add (its optics: the run's simulation's).
PRETRAIN = {"enabled": True, "pairs": 512, "epochs": 2, "morphologies": 0.5}


def model_settings(config, name):
    """The ``train`` rule's settings of a model: the shared ones, overridden by the model's own."""
    return copy.deepcopy({**config["training"], **(config.get("model_settings", {}).get(name) or {})})


def imaging(config):
    """The run's optics (simulated data: the simulation's), as the workflow gives them to pretraining."""
    simulation = simulation_settings(config.get("simulation", {}))
    return {
        "lowres_step_um": simulation["lowres"]["step_um"],
        "lowres_na": simulation["lowres"]["na"],
        "highres_na": simulation["highres"]["na"],
        "excitation_nm": simulation["excitation_nm"],
    }


def variant_settings(config, name, variant, extra):
    """The settings of one model in one variant, or None for the run's own checkpoint."""
    settings = model_settings(config, name)
    pretrain = {**PRETRAIN, "imaging": imaging(config)}
    if variant == "run":
        return None
    if variant == "scratch":
        return settings
    if variant == "pretrain":
        return {**settings, "pretrain": pretrain}
    if variant == "pretrain_half":
        return {**settings, "pretrain": pretrain, "epochs": max(1, settings["epochs"] // 2)}
    if variant == "scratch_long":
        return {**settings, "epochs": 2 * settings["epochs"]}
    overrides = copy.deepcopy(extra[variant])
    if overrides.get("pretrain"):
        overrides["pretrain"] = {**pretrain, **overrides["pretrain"]}
    return {**settings, **overrides}


def test_scores(model_name, checkpoint, pairs, table):
    """Mean PSNR and SSIM of the test maps against the clean HR map, on the LR map's scale."""
    upscaled = super_resolve_pairs(checkpoint, pairs["lowres"], table) if checkpoint else None
    if upscaled is None:
        upscaled = super_resolve(build(model_name, scaling_factor=int(pairs["factor"])), pairs["lowres"])
    scores = score_predictions(model_name, upscaled, pairs, table)
    test = scores[(scores["split"] == "test") & (scores["reference"] == "clean") & (scores["scale"] == "common")]
    return float(test["psnr"].mean()), float(test["ssim"].mean()), len(test)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("results", type=Path, help="a finished run's results/ folder (read only)")
    parser.add_argument("--models", nargs="+", default=["srcnn", "rcan"])
    parser.add_argument("--variants", nargs="+", default=["run", "scratch", "pretrain", "pretrain_half"])
    parser.add_argument("--variant", action="append", default=[], metavar="NAME=JSON", help="a variant of your own")
    parser.add_argument("--config", type=Path, default=REPOSITORY / "config.yaml")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--work", type=Path, default=None, help="keep the trained models here (default: a temp dir)")
    parser.add_argument("--out", type=Path, default=None, help="also write the table as CSV")
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    config = yaml.safe_load(args.config.read_text())
    extra = {}
    for item in args.variant:
        name, _, overrides = item.partition("=")
        extra[name] = json.loads(overrides)
        args.variants.append(name)
    work = Path(args.work or tempfile.mkdtemp(prefix="bench_pretrain_"))
    work.mkdir(parents=True, exist_ok=True)
    for name in ("pairs.npz", "split.csv"):
        shutil.copyfile(args.results / "dataset" / name, work / name)
    pairs_path, split_path = work / "pairs.npz", work / "split.csv"
    with np.load(pairs_path) as archive:
        pairs = {key: archive[key] for key in archive.files}
    table = pd.read_csv(split_path, dtype={"sample": str, "area": str})

    bicubic_psnr, bicubic_ssim, n = test_scores("bicubic", None, pairs, table)
    rows = [{"model": "bicubic", "variant": "-", "psnr": bicubic_psnr, "gain": 0.0, "ssim": bicubic_ssim}]
    rows[0].update(s=0.0, cpu_s=0.0)
    print(f"bicubic: {bicubic_psnr:.2f} dB, SSIM {bicubic_ssim:.3f} ({n} test maps vs the clean HR map, LR scale)")
    for model_name in args.models:
        for variant in args.variants:
            settings = variant_settings(config, model_name, variant, extra)
            if settings is None:
                checkpoint = args.results / "models" / model_name / "best.pt"
                seconds = json.loads((checkpoint.parent / "summary.json").read_text())["train_seconds"]
                cpu_seconds = float("nan")
            else:
                if model_name == "srgan":
                    settings["init_from"] = str(work / "srresnet" / "scratch" / "best.pt")
                out_dir = work / model_name / variant
                started, cpu_started = time.perf_counter(), time.process_time()
                train_model(model_name, pairs_path, split_path, out_dir, settings, device="cpu")
                seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu_started
                checkpoint = out_dir / "best.pt"
            psnr, ssim, _ = test_scores(model_name, checkpoint, pairs, table)
            row = {
                "model": model_name,
                "variant": variant,
                "psnr": psnr,
                "gain": psnr - bicubic_psnr,
                "ssim": ssim,
                "s": seconds,
                "cpu_s": cpu_seconds,
            }
            rows.append(row)
            print(
                f"{model_name} {variant}: {psnr:.2f} dB ({psnr - bicubic_psnr:+.2f} over bicubic), "
                f"SSIM {ssim:.3f}, {seconds:.0f} s ({cpu_seconds:.0f} s CPU)",
                flush=True,
            )
    frame = pd.DataFrame(rows)
    print()
    print("| model | variant | PSNR vs clean, LR scale (dB) | gain over bicubic (dB) | SSIM | time (s) | CPU (s) |")
    print("|---|---|---|---|---|---|---|")
    for row in frame.itertuples():
        cells = f"{row.psnr:.2f} | {row.gain:+.2f} | {row.ssim:.3f} | {row.s:.0f} | {row.cpu_s:.0f}"
        print(f"| {row.model} | {row.variant} | {cells} |")
    if args.out:
        frame.to_csv(args.out, index=False)


if __name__ == "__main__":
    main()
