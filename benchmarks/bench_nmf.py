"""NMF solver, precision and stopping rule at the paper's scan size and at 40k points (issue 13).

The decompose stage fits scikit-learn's NMF (k components, NNDSVDa start, seeded)
to an area's preprocessed LR cube and transforms its HR cube with the fitted
model. This compares, on the same cube, the coordinate-descent (``cd``) and
multiplicative-update (``mu``) solvers, float32 against float64 input, and a
fixed 400 iterations (``tol=0``) against stopping on a convergence tolerance
(``tol``; scikit-learn's test, ``max_iter`` only a cap). Per choice: the fit's
wall time, the iterations run, the relative reconstruction error
||X - WH||_F / ||X||_F, and the smallest correlation of a component map with
the reference fit's (the previous default: ``cd``, float32, ``max_iter`` 400,
``tol`` 1e-4, which runs all 400 iterations), components matched by spectrum.
Per cube it also gives the working memory of the reference fit: what
``fit_transform`` allocates beyond its input (tracemalloc's peak), as a multiple
of the cube; the decompose and predict stages hold it besides the cube.

Cubes: synthetic scans (three smooth phases with distinct spectra, shot-like
noise, through the pipeline's smoothing and per-channel scaling) of 100 x 100 x
954 (the paper's size) and 200 x 200 x 1024; or preprocessed cubes of a run
(``--cube results/preprocessed/A/1/lowres.npz``, kept with ``snakemake --notemp``).
Times are wall seconds on this machine: run it alone.

    python benchmarks/bench_nmf.py
    python benchmarks/bench_nmf.py --sizes 100x954 --tol 1e-4 3e-4 --json nmf.json
    python benchmarks/bench_nmf.py --sizes 200x1024 --solvers cd --dtypes float32   # one solver and input type
"""

import argparse
import json
import time
import tracemalloc
import warnings
from pathlib import Path

import numpy as np
import yaml
from scipy import ndimage
from scipy.optimize import linear_sum_assignment
from sklearn.decomposition import NMF
from sklearn.exceptions import ConvergenceWarning

from ramansr.io_utils import load_npz
from ramansr.preprocess import preprocess_cube

CONFIG_PREPROCESS = yaml.safe_load((Path(__file__).resolve().parents[1] / "config.yaml").read_text())["preprocess"]
N_COMPONENTS, SEED, FIXED_ITERATIONS, MAX_ITER_CAP = 3, 0, 400, 2000
REFERENCE = {"solver": "cd", "dtype": "float32", "max_iter": 400, "tol": 1e-4}


def synthetic_cube(side, channels, seed=0):
    """A preprocessed (smoothed, channel-scaled) synthetic LR cube (side, side, channels), float32."""
    rng = np.random.default_rng(seed)
    wavenumbers = np.linspace(100.0, 3800.0, channels)
    bands = [((2850, 40), (2930, 50)), ((3250, 150), (3400, 120)), ((1000, 15), (1600, 25), (2930, 60))]
    spectra = np.stack([sum(np.exp(-(((wavenumbers - c) / w) ** 2)) for c, w in phase) for phase in bands])
    fields = np.stack([ndimage.gaussian_filter(rng.normal(size=(side, side)), side / 10) for _ in bands])
    weights = np.exp(3.0 * fields / fields.std(axis=(1, 2), keepdims=True))
    abundance = weights / weights.sum(axis=0)
    counts = np.einsum("krc,kl->rcl", abundance, 200.0 * spectra, optimize=True) + 20.0
    noisy = rng.poisson(counts).astype(np.float32)
    # the pipeline's chain with the config's settings; a synthetic cube has no detector offset or spikes
    settings = {**CONFIG_PREPROCESS, "offset": "none", "despike": {"enabled": False}}
    return preprocess_cube(noisy, wavenumbers, settings, name="synthetic cube")[0]


def fit(pixels, solver, dtype, max_iter, tol):
    """Fit NMF; returns (seconds, model, maps (pixels, k))."""
    data = pixels.astype(dtype, copy=False)
    model = NMF(N_COMPONENTS, init="nndsvda", solver=solver, max_iter=max_iter, tol=tol, random_state=SEED)
    started = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        maps = model.fit_transform(data)
    return time.perf_counter() - started, model, maps


def working_memory(pixels):
    """What the reference fit allocates beyond its input at its peak, as a multiple of the input's bytes."""
    data = pixels.astype(REFERENCE["dtype"])
    tracemalloc.start()
    try:
        fit(data, **REFERENCE)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak / data.nbytes


def relative_error(pixels, model, maps):
    """||X - WH||_F / ||X||_F in float64."""
    residual = pixels.astype(np.float64) - maps.astype(np.float64) @ model.components_.astype(np.float64)
    return float(np.linalg.norm(residual) / np.linalg.norm(pixels.astype(np.float64)))


def min_map_correlation(maps, spectra, reference_maps, reference_spectra):
    """Smallest Pearson correlation of a component map with the reference's, components matched by spectrum."""
    similarity = np.corrcoef(spectra, reference_spectra)[: len(spectra), len(spectra) :]
    rows, cols = linear_sum_assignment(-similarity)
    return float(min(np.corrcoef(maps[:, i], reference_maps[:, j])[0, 1] for i, j in zip(rows, cols, strict=True)))


def choices(solvers, dtypes, tolerances):
    """Every (solver, dtype, max_iter, tol) compared: a fixed 400 iterations, then each tolerance."""
    for solver in solvers:
        for dtype in dtypes:
            yield solver, dtype, FIXED_ITERATIONS, 0.0
            for tol in tolerances:
                yield solver, dtype, MAX_ITER_CAP, tol


def study(name, cube, solvers, dtypes, tolerances):
    pixels = cube.reshape(-1, cube.shape[-1])
    _, ref_model, ref_maps = fit(pixels, **REFERENCE)
    rows = []
    for solver, dtype, max_iter, tol in choices(solvers, dtypes, tolerances):
        seconds, model, maps = fit(pixels, solver, dtype, max_iter, tol)
        rows.append(
            {
                "cube": name,
                "solver": solver,
                "dtype": dtype,
                "stop": f"{max_iter} iterations" if tol == 0 else f"tol {tol:g}",
                "seconds": round(seconds, 2),
                "iterations": int(model.n_iter_),
                "rel_error": relative_error(pixels, model, maps),
                "min_map_corr": min_map_correlation(maps, model.components_, ref_maps, ref_model.components_),
                "output_dtype": str(maps.dtype),
            }
        )
        print_row(rows[-1])
    print(f"{name:>16}: the reference fit works in {working_memory(pixels):.2f}x the cube beyond it", flush=True)
    return rows


def print_row(row):
    print(
        f"{row['cube']:>16} {row['solver']:>3} {row['dtype']:>7} {row['stop']:>14} {row['seconds']:8.2f} "
        f"{row['iterations']:6d} {row['rel_error']:.6f} {row['min_map_corr']:.6f} {row['output_dtype']:>7}",
        flush=True,
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", nargs="*", default=["100x954", "200x1024"], help="synthetic cubes: side x channels")
    parser.add_argument("--cube", nargs="*", default=[], help="preprocessed cubes (.npz with 'cube') to add")
    parser.add_argument("--tol", nargs="*", type=float, default=[1e-4, 3e-4, 1e-3], help="tolerances compared")
    parser.add_argument("--solvers", nargs="*", default=["cd", "mu"], choices=["cd", "mu"])
    parser.add_argument("--dtypes", nargs="*", default=["float32", "float64"], choices=["float32", "float64"])
    parser.add_argument("--json", help="write the rows here too")
    args = parser.parse_args()
    cubes = {f"{s}x{s}x{c}": (int(s), int(c)) for s, c in (size.split("x") for size in args.sizes)}
    print(f"k = {N_COMPONENTS}, NNDSVDa, seed {SEED}; reference: {REFERENCE}")
    header = f"{'cube':>16} {'slv':>3} {'input':>7} {'stop':>14} {'seconds':>8} {'iters':>6} rel_error min_corr"
    print(f"{header} {'output':>7}")
    rows = []
    for name, (side, channels) in cubes.items():
        rows += study(name, synthetic_cube(side, channels), args.solvers, args.dtypes, args.tol)
    for path in args.cube:
        rows += study(path, load_npz(path)["cube"], args.solvers, args.dtypes, args.tol)
    if args.json:
        with open(args.json, "w") as out:
            json.dump(rows, out, indent=1)


if __name__ == "__main__":
    main()
