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

``--ceiling`` (simulated runs) adds what a perfect super-resolution would score: the noise-free
specimen (rebuilt from the area's seed, :func:`ramansr.simulate.specimen.specimen_abundance`) through
the HR objective, sampled on the SR model's own grid (the upscaled LR grid, SR pixel ``j`` at LR point
``(j + 0.5) / factor - 0.5``) at the registered window rounded to whole pixels, as the scores crop it
(:func:`ramansr.metrics.crop_window`); at the registered window's exact corner; and at the truth's
corner without the HR stage's rotation. Each is mapped to the clean map's scale by the least-squares
fit of the clean map to the truth's HR abundances (a near-exact fit: the NMF maps are linear in them).

Measured on the default run of the version before this one (12 test maps against the clean HR map,
on the LR scale; bicubic 28.38 dB; one thread on 2 cores shared with other jobs, so the CPU seconds
are the comparable time; the pipeline's SRCNN took 193 s of CPU on 2 threads, its RCAN 231 s):

| model | variant | PSNR (dB) | over bicubic | SSIM | CPU (s) |
|---|---|---|---|---|---|
| SRCNN | 40 epochs, scratch (pipeline's; seeds 0 / 1) | 28.74 / 28.43 | +0.36 / +0.05 | 0.905 / 0.910 | 162 / 123 |
| SRCNN | 80 epochs from scratch | 28.64 | +0.26 | 0.906 | 238 |
| SRCNN | pretrain (128 steps), then 40 epochs | 28.98 | +0.60 | 0.911 | 218 |
| SRCNN | pretrain, then 20 epochs | 28.56 | +0.18 | 0.910 | ~120 |
| SRCNN | pretrain with jitter 0.5, then 20 epochs | 28.61 | +0.23 | 0.910 | 122 |
| SRCNN | pretrain, then 30 epochs | 28.71 | +0.33 | 0.909 | 142 |
| SRCNN | pretrain, jitter 0.5, 30 epochs (default) | 28.86 / 28.61 | +0.47 / +0.23 | 0.909 / 0.910 | 135 / 145 |
| SRCNN | 4x pretrain (512 steps), jitter 0.5, 30 epochs | 29.05 | +0.67 | 0.911 | 282 |
| SRCNN | 10x pretrain steps (20 epochs of the 512 pairs), jitter 0.5, 30 epochs | 28.49 | +0.11 | 0.910 | 604 |
| SRCNN | 10x pretrain pairs (5120, 2 epochs), jitter 0.5, 30 epochs | 28.89 | +0.51 | 0.913 | 558 |
| RCAN | 8 epochs from scratch (the pipeline's) | 28.49 | +0.11 | 0.892 | 231 (2 threads) |
| RCAN | pretrain (128 steps), then 4 epochs | 28.54 | +0.16 | 0.893 | 231 |

The two 10x rows are from the next version's default run (the same bicubic 28.38 dB; one thread
beside another one-thread job), with ``--variant 'pre10x_steps={"pretrain": {"epochs": 20, "jitter":
0.5}}' --variant 'pre10x_pairs={"pretrain": {"pairs": 5120, "jitter": 0.5}}'``: the upper bound of
more pretraining is near the default's gain, within the 0.25 dB between seeds.

``--ceiling`` on the same run: a perfect SR output scores 32.04 dB as the pipeline crops it (the
registered corner rounded to whole HR pixels, 0.45 px off on average), 41.78 dB at the exact corner
and 42.79 dB without the HR stage's rotation (up to 1 degree).

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
    if overrides.get("pretrain") is not None:  # {}: PRETRAIN as it is
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


def _perfect_map(fit, x_um, y_um, pad=0):
    """The specimen seen by the HR objective, sampled at (x_um, y_um), on the clean map's scale.

    ``pad``: the positions reach that many pixels beyond the window on each side (the HR scan's
    drift, known on the window only, continued from its edge there).
    """
    from ramansr.simulate.acquisition import _sample_at

    seen, margin, fine, drift, coefficients, _ = fit
    sampled = np.clip(_sample_at(seen, np.stack([x_um, y_um], axis=-1), -margin, fine), 0.0, None)
    drift = np.pad(drift, pad, mode="edge") if pad else drift
    mapped = np.c_[(sampled * drift).reshape(len(seen), -1).T, np.ones(drift.size)] @ coefficients
    return mapped.reshape(drift.shape)


def _perfect(fit, x_um, y_um):
    """PSNR of :func:`_perfect_map` against the clean map."""
    from ramansr.metrics import score

    return score(_perfect_map(fit, x_um, y_um), fit[-1])["psnr"]


def _spline_window_psnr(fit, x, y, step, offset, pad=8):
    """PSNR of a perfect SR output on the SR grid around the window, cut at the exact corner (x, y) by
    :func:`ramansr.metrics.sample_window` (what sub-pixel scoring does to a model's output)."""
    from ramansr.metrics import sample_window, score

    clean = fit[-1]
    left, top = int(np.floor(x)) - pad, int(np.floor(y)) - pad
    rows_px, cols_px = np.mgrid[0 : clean.shape[0] + 2 * pad, 0 : clean.shape[1] + 2 * pad]
    region = _perfect_map(fit, step * (left + cols_px) - offset, step * (top + rows_px) - offset, pad)
    return score(sample_window(region, (x - left, y - top), clean.shape), clean)["psnr"]


def grid_ceiling(results, pairs, table):
    """Test-map PSNR of a perfect SR output against the clean HR map (see the module docstring).

    Returns
    -------
    pandas.DataFrame
        One row per test map: ``rotation_deg``, ``rounding_px`` (the corner's rounding), and the
        PSNR at the ``rounded`` corner, the ``exact`` corner, the truth's corner ``unrotated``, and
        ``spline``: the perfect output on the SR grid cut at the exact corner by a cubic spline
        (:func:`ramansr.metrics.sample_window`, as ``score_predictions(..., subpixel=True)`` does).
    """
    from ramansr.optics import airy_otf, blur
    from ramansr.simulate.acquisition import psf_margin_um, specimen_shape
    from ramansr.simulate.settings import area_seed_sequence
    from ramansr.simulate.specimen import specimen_abundance
    from ramansr.truth import read_truth

    factor = int(pairs["factor"])
    rows, specimens = [], {}
    for i, record in enumerate(table.itertuples(index=False)):
        if record.split != "test":
            continue
        key = (record.sample, record.area)
        if key not in specimens:
            truth = read_truth(results / "simulated" / record.sample / record.area / "truth.npz")
            settings = simulation_settings(json.loads(truth["settings"]))
            fine, wavelength = settings["fine_step_um"], settings["excitation_nm"] / 1e3
            margin = psf_margin_um(settings)
            sequence = area_seed_sequence(settings["seed"], record.sample, int(record.area)).spawn(4)[0]
            rng = np.random.default_rng(sequence)
            specimen, _ = specimen_abundance(settings, record.sample, specimen_shape(settings), rng)
            seen = blur(specimen, airy_otf(specimen.shape[1:], fine, wavelength, settings["highres"]["na"]))
            specimens[key] = (truth, seen, margin, fine, settings["lowres"]["step_um"] / factor)
        truth, seen, margin, fine, step = specimens[key]
        clean = pairs["highres_clean"][i].astype(np.float64)
        drift = truth["highres_drift"]
        design = np.c_[(truth["highres_abundance"] * drift).reshape(len(seen), -1).T, np.ones(clean.size)]
        coefficients, *_ = np.linalg.lstsq(design, clean.ravel(), rcond=None)
        rows_px, cols_px = np.mgrid[0 : clean.shape[0], 0 : clean.shape[1]]

        fit = (seen, margin, fine, drift, coefficients, clean)

        # SR pixel j sits at LR point (j + 0.5) / factor - 0.5, LR point p at p * LR step (um)
        offset = (factor - 1) / 2 * step
        x, y = (float(value) for value in pairs["position"][i])
        rounded_x, rounded_y = round(x), round(y)
        corner_x, corner_y = (float(value) for value in truth["offset_um"])
        rows.append(
            {
                "pair_id": record.pair_id,
                "rotation_deg": float(truth["rotation_deg"]),
                "rounding_px": float(np.hypot(x - rounded_x, y - rounded_y)),
                "rounded": _perfect(fit, step * (rounded_x + cols_px) - offset, step * (rounded_y + rows_px) - offset),
                "exact": _perfect(fit, step * (x + cols_px) - offset, step * (y + rows_px) - offset),
                "unrotated": _perfect(fit, corner_x + step * cols_px, corner_y + step * rows_px),
                "spline": _spline_window_psnr(fit, x, y, step, offset),
            }
        )
    return pd.DataFrame(rows)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("results", type=Path, help="a finished run's results/ folder (read only)")
    parser.add_argument("--models", nargs="+", default=["srcnn", "rcan"])
    parser.add_argument("--variants", nargs="*", default=["run", "scratch", "pretrain", "pretrain_half"])
    parser.add_argument("--variant", action="append", default=[], metavar="NAME=JSON", help="a variant of your own")
    parser.add_argument("--config", type=Path, default=REPOSITORY / "config.yaml")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--work", type=Path, default=None, help="keep the trained models here (default: a temp dir)")
    parser.add_argument("--out", type=Path, default=None, help="also write the table as CSV")
    parser.add_argument("--ceiling", action="store_true", help="also score a perfect SR output (simulated runs)")
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

    if args.ceiling:
        ceiling = grid_ceiling(args.results, pairs, table)
        print(ceiling.to_string(index=False, float_format="%.2f"))
        means = ceiling[["rounded", "exact", "unrotated", "spline"]].mean()
        print(
            f"a perfect SR output scores {means['rounded']:.2f} dB as the pipeline crops it (corner rounded), "
            f"{means['exact']:.2f} at the exact corner ({means['spline']:.2f} resampled there from the SR grid "
            f"by a cubic spline), {means['unrotated']:.2f} without the HR stage's rotation"
        )
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
