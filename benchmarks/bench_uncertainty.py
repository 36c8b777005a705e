"""Per-pixel uncertainty of SR maps (issue 27): does it rank the true error, do its intervals cover, what does it cost?

Uses a finished run's results folder (``dataset/pairs.npz``, ``dataset/split.csv``,
``models/{model}/best.pt``, and ``benchmarks/predict/*.tsv`` for the cost of a whole prediction).
For every model and every validation and test map, on the LR region under the HR window plus a
margin (``--margin`` LR pixels: the networks' and the PSF's reach; 0 uses whole maps), it computes
the SR map and, for each candidate uncertainty:

- ``eb{n}``: the equivariant bootstrap of :mod:`ramansr.uncertainty`, ``n`` draws (the first n of
  the same draws);
- ``tta``: spread of test-time augmentation, ``T^-1 f(T y)`` over the 8 rotations and mirrors;
- ``ensemble``: RMS distance to the other models' maps (SRCNN, SRResNet, RCAN, Wiener, bicubic);
- ``edge``: the SR map's gradient magnitude (Sobel), a free baseline;
- ``eb16+ens``: root sum of squares of the two;

calibrates each on the validation windows (:func:`ramansr.uncertainty.calibrate`, 90 %) and scores
it on the test windows against the measured HR map: the Spearman correlation of predicted and true
RMSE over the test maps, the mean pixel coverage of the 90 % intervals, and the worst map's coverage.
Cost: one area's whole maps super-resolved, against the same with the bootstrap (``--draws``), one
thread; and that extra time against the run's own prediction jobs (CPU seconds, their mean).

Run: ``PYTHONPATH=src OMP_NUM_THREADS=1 python benchmarks/bench_uncertainty.py RESULTS [--cache DIR]``
(about 15 minutes on one core for the default run's 4 networks).
"""

import argparse
import functools
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from scipy import ndimage
from scipy.stats import spearmanr

from ramansr.consistency import reimage_lowres
from ramansr.inference import load_model, super_resolve
from ramansr.metrics import crop_window
from ramansr.uncertainty import DIHEDRAL, bootstrap_draws, calibrate, predicted_rmse, spread, transform, untransform

NETWORKS = ["srcnn", "srresnet", "srgan", "rcan"]
ENSEMBLE = ["srcnn", "srresnet", "rcan", "wiener", "bicubic"]
# the simulation schema's defaults (the default run's optics)
IMAGING = {"na": 0.5, "wavelength_um": 0.488}


def crops(pairs, indices, margin):
    """Each map's LR region under its HR window plus ``margin`` LR pixels, and the window's corner in its SR map."""
    factor = int(pairs["factor"])
    size = pairs["highres"].shape[-1]
    regions, corners = [], []
    for i in indices:
        lowres = pairs["lowres"][i]
        x, y = (round(float(v)) for v in pairs["position"][i])
        if margin:
            r0, c0 = max(y // factor - margin, 0), max(x // factor - margin, 0)
            r1 = min(-(-(y + size) // factor) + margin, lowres.shape[0])
            c1 = min(-(-(x + size) // factor) + margin, lowres.shape[1])
        else:
            r0, c0, (r1, c1) = 0, 0, lowres.shape
        regions.append(lowres[r0:r1, c0:c1])
        corners.append((x - factor * c0, y - factor * r0))
    return regions, corners


def window(maps, corner, size):
    """The HR window of a stack of SR maps (..., H, W)."""
    return np.stack([crop_window(m, corner, (size, size)) for m in np.reshape(maps, (-1, *maps.shape[-2:]))]).reshape(
        *maps.shape[:-2], size, size
    )


def tta_outputs(model, lowres):
    """``T^-1 f(T y)`` over the 8 rotations and mirrors, (8, 1, H, W)."""
    outputs = []
    for turns, mirror in DIHEDRAL:
        moved = transform(lowres[None], turns, mirror, (0, 0))
        outputs.append(untransform(super_resolve(model, moved), turns, mirror, (0, 0)))
    return np.stack(outputs)


def model_windows(model_name, results, pairs, indices, regions, corners, draws, cache):
    """SR, bootstrap draws and TTA outputs of one model on every map's window (cached as npz)."""
    path = cache / f"{model_name}.npz"
    if path.exists():
        return dict(np.load(path))
    model = load_model(results / "models" / model_name / "best.pt", "cpu")
    factor = int(pairs["factor"])
    step = float(pairs["lowres_step_um"][0])
    imaging = functools.partial(reimage_lowres, factor=factor, lowres_step_um=step, **IMAGING)
    size = pairs["highres"].shape[-1]
    out = {"sr": [], "draws": [], "tta": [], "noiseless": []}
    learned = model_name in NETWORKS
    for i, (lowres, corner) in enumerate(zip(regions, corners, strict=True)):
        sr = super_resolve(model, lowres[None])
        out["sr"].append(window(sr, corner, size)[0])
        if learned:
            samples = bootstrap_draws(sr, lowres[None], functools.partial(super_resolve, model), imaging, draws, seed=i)
            out["draws"].append(window(samples, corner, size)[:, 0])
            noiseless = bootstrap_draws(
                sr, lowres[None], functools.partial(super_resolve, model), imaging, 8, seed=i, noise_scale=0.0
            )
            out["noiseless"].append(window(noiseless, corner, size)[:, 0])
            out["tta"].append(window(tta_outputs(model, lowres), corner, size)[:, 0])
        print(f"  {model_name} map {indices[i]} done", flush=True)
    result = {key: np.stack(value) for key, value in out.items() if value}
    np.savez(path, **result)
    return result


def candidates(name, windows, draws):
    """Every candidate's raw uncertainty of one model, {candidate: (n, H, W)}."""
    own = windows[name]
    sr = own["sr"]
    ensemble = [windows[m]["sr"] for m in ENSEMBLE if m != name]
    result = {
        f"eb{n}": np.stack([spread(sr[i : i + 1], own["draws"][i][:n, None])[0] for i in range(len(sr))])
        for n in sorted({4, 8, draws})
        if n <= draws
    }
    result["eb8-noiseless"] = np.stack([spread(sr[i : i + 1], own["noiseless"][i][:, None])[0] for i in range(len(sr))])
    result["eb-bias"] = np.abs(own["draws"].mean(axis=1) - sr)
    result["tta"] = np.stack([spread(sr[i : i + 1], own["tta"][i][:, None])[0] for i in range(len(sr))])
    result["ensemble"] = np.sqrt(np.mean([(sr - other) ** 2 for other in ensemble], axis=0))
    result["edge"] = np.stack([np.hypot(ndimage.sobel(m, axis=0), ndimage.sobel(m, axis=1)) for m in sr])
    result["laplacian"] = np.stack([ndimage.gaussian_filter(np.abs(ndimage.laplace(m)), 2) for m in sr])
    result[f"eb{draws}+ens"] = np.hypot(result[f"eb{draws}"], result["ensemble"])
    return result


def score_candidate(raw, sr, reference, val, test, level=0.9):
    """Calibrate on the val maps, score on the test maps: per-map rows and the summary."""
    calibration = calibrate(sr[val], raw[val], reference[val], level)
    half = calibration["quantile"] * raw[test]
    inside = np.abs(reference[test] - sr[test]) <= half
    coverage = inside.mean(axis=(1, 2))
    true = np.sqrt(np.mean((reference[test] - sr[test]) ** 2, axis=(1, 2)))
    predicted = predicted_rmse(raw[test], calibration)
    rho = spearmanr(predicted, true).statistic
    return calibration, coverage, true, predicted, rho


def timing(model_name, results, pairs, draws):
    """Seconds to super-resolve one area's whole maps (the first test area), plain and with the bootstrap."""
    model = load_model(results / "models" / model_name / "best.pt", "cpu")
    lowres = pairs["lowres"][:3]
    factor = int(pairs["factor"])
    imaging = functools.partial(
        reimage_lowres, factor=factor, lowres_step_um=float(pairs["lowres_step_um"][0]), **IMAGING
    )
    start = time.perf_counter()
    sr = super_resolve(model, lowres)
    plain = time.perf_counter() - start
    start = time.perf_counter()
    spread(sr, bootstrap_draws(sr, lowres, functools.partial(super_resolve, model), imaging, draws))
    return plain, time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", type=Path)
    parser.add_argument("--draws", type=int, default=16)
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
    regions, corners = crops(pairs, indices, args.margin)
    reference = pairs["highres"][indices].astype(np.float64)

    windows = {
        name: model_windows(name, args.results, pairs, indices, regions, corners, args.draws, args.cache)
        for name in dict.fromkeys(args.models + ENSEMBLE)
    }
    rows, per_map = [], []
    for name in args.models:
        sr = windows[name]["sr"].astype(np.float64)
        for candidate, raw in candidates(name, windows, args.draws).items():
            calibration, coverage, true, predicted, rho = score_candidate(raw, sr, reference, val, test)
            rows.append(
                {
                    "model": name,
                    "uncertainty": candidate,
                    "spearman": rho,
                    "coverage_90": coverage.mean(),
                    "worst_map_coverage": coverage.min(),
                    "quantile": calibration["quantile"],
                }
            )
            per_map += [
                {
                    "model": name,
                    "uncertainty": candidate,
                    "pair_id": pid,
                    "true_rmse": t,
                    "predicted_rmse": p,
                    "coverage_90": c,
                }
                for pid, t, p, c in zip(
                    table["pair_id"].to_numpy()[indices][test], true, predicted, coverage, strict=True
                )
            ]
    summary = pd.DataFrame(rows)
    pd.DataFrame(per_map).to_csv(args.cache / "per_map.csv", index=False)
    print(summary.to_string(index=False, float_format="%.3f"))

    if not args.no_timing:
        predict_cpu = [
            pd.read_csv(path, sep="\t")["cpu_time"].iloc[0]
            for path in (args.results / "benchmarks" / "predict").glob("*.tsv")
        ]
        for name in args.models:
            plain, extra = timing(name, args.results, pairs, args.draws)
            whole = (
                f", whole prediction {(np.mean(predict_cpu) + extra) / np.mean(predict_cpu):.1f}x"
                if predict_cpu
                else ""
            )
            print(
                f"cost {name}: SR {plain:.2f} s, bootstrap ({args.draws} draws) {extra:.1f} s: "
                f"{(plain + extra) / plain:.1f}x SR{whole}"
            )


if __name__ == "__main__":
    main()
