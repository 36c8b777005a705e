"""Per-pixel uncertainty of SR maps (issue 27): does it rank the true error, do its intervals cover, what does it cost?

Uses a finished run's results folder (``dataset/pairs.npz``, ``dataset/split.csv``,
``models/{model}/best.pt``, and ``benchmarks/predict/*.tsv`` for the cost of a whole prediction).
For every model and every validation and test map, on the LR region under the HR window plus a
margin (:func:`ramansr.uncertainty.bootstrap.window_region`, ``--margin`` LR pixels), it computes the SR map
and the candidates, each calibrated on the validation windows by
:func:`ramansr.uncertainty.calibration.calibrate` (90 %; a single candidate is the ``bootstrap`` part with
the ``gradient`` part zero, so the fit is a scale) and scored on the test windows against the
measured HR map:

- ``eb{n}+grad`` (the method of :mod:`ramansr.uncertainty`): the noiseless equivariant
  bootstrap's spread (``n`` = ``--draws`` draws) and the SR map's gradient magnitude, weighed on
  the val pixels;
- ``eb{n}``: the bootstrap's spread alone, noiseless; ``eb16-noisy``: with noise at the LR map's
  measured level (Tachella & Pereyra's recipe), 16 draws; ``eb16-noisy+grad``;
- ``grad``: the gradient magnitude alone (a free baseline);
- ``tta``: spread of test-time augmentation, ``T^-1 f(T y)`` over the 8 rotations and mirrors;
- ``ensemble``: RMS distance to the other models' maps (SRCNN, SRResNet, RCAN, Wiener, bicubic).

Per model and candidate it prints the Spearman correlation of predicted and true RMSE over the test
maps (with a 95 % bootstrap interval over the maps for the method), the mean pixel coverage of the
90 % intervals and the worst map's. Cost: one area's whole maps super-resolved, plain and with
the method's parts, one thread, and that extra time against the run's own prediction jobs (their
mean CPU seconds: the prediction reads, preprocesses and decomposes the scan too).

Run: ``PYTHONPATH=src OMP_NUM_THREADS=1 python benchmarks/bench_uncertainty.py RESULTS [--cache DIR]``
(about 15 minutes on one core for the default run's 4 networks; the cache keeps the draws).
"""

import argparse
import functools
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from scipy.stats import spearmanr

from ramansr.inference import load_model, super_resolve
from ramansr.metrics import crop_window
from ramansr.simulate.settings import resolve_settings
from ramansr.uncertainty.bootstrap import (
    DIHEDRAL,
    bootstrap_draws,
    gradient_magnitude,
    spread,
    transform,
    uncertainty_parts,
    untransform,
    window_region,
)
from ramansr.uncertainty.calibration import calibrate, combine, map_scores
from ramansr.uncertainty.stages import pair_set_imaging

NETWORKS = ["srcnn", "srresnet", "srgan", "rcan"]
ENSEMBLE = ["srcnn", "srresnet", "rcan", "wiener", "bicubic"]
NOISY_DRAWS = 16


def reimaging(pairs):
    """The run's LR imaging model: the simulation's optics (the default run's)."""
    simulation = resolve_settings({})
    return pair_set_imaging(pairs, simulation["lowres"]["na"], simulation["excitation_nm"])


def tta_outputs(model, lowres):
    """``T^-1 f(T y)`` over the 8 rotations and mirrors, (8, 1, H, W)."""
    outputs = []
    for turns, mirror in DIHEDRAL:
        moved = transform(lowres[None], turns, mirror, (0, 0))
        outputs.append(untransform(super_resolve(model, moved), turns, mirror, (0, 0)))
    return np.stack(outputs)


def model_windows(model_name, results, pairs, indices, draws, margin, cache):
    """SR, gradient, noiseless and noisy bootstrap draws and TTA outputs of one model on every map's window.

    The draws are cached in ``cache``.
    """
    path = cache / f"{model_name}.npz"
    model = load_model(results / "models" / model_name / "best.pt", "cpu")
    model_sr = functools.partial(super_resolve, model)
    window = pairs["highres"].shape[1:]
    regions = [
        window_region(pairs["lowres"][i], pairs["position"][i], window, int(pairs["factor"]), margin) for i in indices
    ]
    # the gradient of the region's SR map, as the pipeline takes it (the window's border sees its neighbours)
    gradient = [
        crop_window(gradient_magnitude(model_sr(lowres[None]))[0], corner, window) for lowres, corner in regions
    ]
    if path.exists():
        return {**np.load(path), "gradient": np.asarray(gradient)}
    out = {"sr": [], "noiseless": [], "noisy": [], "tta": []}
    for i, (lowres, corner) in zip(indices, regions, strict=True):
        sr = model_sr(lowres[None])
        out["sr"].append(crop_window(sr[0], corner, window))
        if model_name in NETWORKS:
            for key, count, noise in (("noiseless", draws, 0.0), ("noisy", NOISY_DRAWS, 1.0)):
                samples = bootstrap_draws(sr, lowres[None], model_sr, reimaging(pairs), count, i, noise)
                out[key].append([crop_window(s[0], corner, window) for s in samples])
            out["tta"].append([crop_window(s[0], corner, window) for s in tta_outputs(model, lowres)])
        print(f"  {model_name} map {i} done", flush=True)
    result = {key: np.asarray(value) for key, value in out.items() if value}
    np.savez(path, **result)
    return {**result, "gradient": np.asarray(gradient)}


def candidates(name, windows, draws):
    """Every candidate's parts (bootstrap, gradient) for one model, {candidate: (2, n, H, W)}."""
    own = windows[name]
    sr = own["sr"]
    zero = np.zeros_like(sr)
    spread_of = {
        key: np.stack([spread(sr[i : i + 1], own[key][i][:, None])[0] for i in range(len(sr))])
        for key in ("noiseless", "noisy", "tta")
    }
    gradient = own["gradient"]
    ensemble = np.sqrt(np.mean([(sr - windows[m]["sr"]) ** 2 for m in ENSEMBLE if m != name], axis=0))
    return {
        f"eb{draws}+grad": np.stack([spread_of["noiseless"], gradient]),
        f"eb{draws}": np.stack([spread_of["noiseless"], zero]),
        f"eb{NOISY_DRAWS}-noisy": np.stack([spread_of["noisy"], zero]),
        f"eb{NOISY_DRAWS}-noisy+grad": np.stack([spread_of["noisy"], gradient]),
        "grad": np.stack([zero, gradient]),
        "tta": np.stack([spread_of["tta"], zero]),
        "ensemble": np.stack([ensemble, zero]),
    }


def spearman_interval(predicted, true, resamples=2000, seed=0):
    """Percentile-bootstrap 95 % interval of the Spearman correlation, resampling the maps."""
    rng = np.random.default_rng(seed)
    values = []
    for _ in range(resamples):
        pick = rng.integers(0, len(true), len(true))
        if np.ptp(true[pick]) > 0 and np.ptp(predicted[pick]) > 0:
            values.append(spearmanr(predicted[pick], true[pick]).statistic)
    return np.percentile(values, [2.5, 97.5])


def timing(model_name, results, pairs, draws, repeats=3):
    """Seconds to super-resolve one area's whole maps (the first three pairs), plain and the method's parts.

    After one warm-up pass (oneDNN picks its kernels), the fastest of ``repeats`` runs of each.
    """
    model_sr = functools.partial(super_resolve, load_model(results / "models" / model_name / "best.pt", "cpu"))
    lowres = pairs["lowres"][:3]
    sr = model_sr(lowres)
    plain, extra = [], []
    for _ in range(repeats):
        start = time.perf_counter()
        model_sr(lowres)
        plain.append(time.perf_counter() - start)
        start = time.perf_counter()
        uncertainty_parts(sr, lowres, model_sr, reimaging(pairs), draws)
        extra.append(time.perf_counter() - start)
    return min(plain), min(extra)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", type=Path)
    parser.add_argument("--draws", type=int, default=8, help="the method's (noiseless) bootstrap draws")
    parser.add_argument("--margin", type=int, default=12)
    parser.add_argument("--cache", type=Path, default=Path("/tmp/ramansr_bench_uncertainty"))
    parser.add_argument("--models", nargs="+", default=NETWORKS)
    parser.add_argument("--no-timing", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(1)
    args.cache.mkdir(parents=True, exist_ok=True)

    pairs = dict(np.load(args.results / "dataset" / "pairs.npz"))
    table = pd.read_csv(args.results / "dataset" / "split.csv", dtype={"sample": str, "area": str})
    indices = np.flatnonzero(table["split"].isin(["val", "test"]).to_numpy())
    split = table["split"].to_numpy()[indices]
    val, test = split == "val", split == "test"
    reference = pairs["highres"][indices].astype(np.float64)
    windows = {
        name: model_windows(name, args.results, pairs, indices, args.draws, args.margin, args.cache)
        for name in dict.fromkeys(args.models + ENSEMBLE)
    }
    rows, per_map = [], []
    for name in args.models:
        sr = windows[name]["sr"].astype(np.float64)
        for candidate, parts in candidates(name, windows, args.draws).items():
            calibration = calibrate(sr[val], parts[:, val], reference[val])
            scores = map_scores(sr[test], combine(parts[:, test], calibration), reference[test], calibration)
            rho = spearmanr(scores["predicted_rmse"], scores["true_rmse"]).statistic
            method = candidate == f"eb{args.draws}+grad"
            low, high = spearman_interval(scores["predicted_rmse"], scores["true_rmse"]) if method else (np.nan,) * 2
            rows.append(
                {
                    "model": name,
                    "uncertainty": candidate,
                    "spearman": rho,
                    "spearman_95": f"[{low:.2f}, {high:.2f}]" if method else "",
                    "coverage_90": scores["coverage"].mean(),
                    "worst_map_coverage": scores["coverage"].min(),
                    "weights": " ".join(f"{w:.3g}" for w in calibration["weights"].values()),
                    "quantile": calibration["quantile"],
                }
            )
            pair_ids = table["pair_id"].to_numpy()[indices][test]
            per_map += [
                {"model": name, "uncertainty": candidate, "pair_id": pid} | {k: v[j] for k, v in scores.items()}
                for j, pid in enumerate(pair_ids)
            ]
    pd.DataFrame(per_map).to_csv(args.cache / "per_map.csv", index=False)
    print(pd.DataFrame(rows).to_string(index=False, float_format="%.3f"))

    if not args.no_timing:
        tsvs = sorted((args.results / "benchmarks" / "predict").glob("*.tsv"))
        predict_cpu = np.mean([pd.read_csv(path, sep="\t")["cpu_time"].iloc[0] for path in tsvs]) if tsvs else None
        for name in args.models:
            plain, extra = timing(name, args.results, pairs, args.draws)
            whole = (
                f", {(predict_cpu + extra) / predict_cpu:.1f}x a prediction ({predict_cpu:.0f} CPU s)" if tsvs else ""
            )
            print(
                f"cost {name}: SR {plain:.2f} s, parts ({args.draws} draws) {extra:.1f} s: "
                f"{(plain + extra) / plain:.1f}x SR{whole}"
            )


if __name__ == "__main__":
    main()
