"""The uncertainty's calibration per cross-validation fold (issue 27): with and without the HR scan's noise.

Uses a finished run with its leave-one-sample-out folds (``dataset: cv: leave_one_sample_out``):
``dataset/pairs.npz`` and, per fold, ``cv/{fold}/split.csv`` and ``cv/{fold}/models/{model}/best.pt``.
For each fold and model it computes the SR maps and the uncertainty's parts on the HR windows of the
fold's val and test pairs (:func:`ramansr.uncertainty.bootstrap.window_parts`, the pipeline's 8
noiseless draws), calibrates on the val windows (:func:`ramansr.uncertainty.calibration.calibrate`)
two ways and scores the held-out sample's test maps against their measured HR maps:

- ``without noise``: the parts' weights fitted to the squared errors alone (the previous version);
- ``with HR noise``: the measured HR maps' white-noise variance
  (:func:`ramansr.uncertainty.calibration.hr_noise_variance` of the val maps) added to every pixel's
  variance, the parts fitted to the rest (the pipeline's).

Prints, per fold and model, the Spearman correlation of predicted and true RMSE over the test maps
and the mean and worst map's coverage of the 90 % intervals.

Measured on the default run (SRCNN pretrained; one thread, 2 shared cores), mean coverage:

| held-out sample | A | B | C | D | E | F |
|---|---|---|---|---|---|---|
| SRCNN, without noise | 0.952 | 0.918 | 0.900 | 0.867 | 0.830 | 0.858 |
| SRCNN, with HR noise | 0.922 | 0.882 | 0.896 | 0.886 | 0.855 | 0.901 |
| linear, without noise | 0.955 | 0.936 | 0.894 | 0.861 | 0.808 | 0.844 |
| linear, with HR noise | 0.922 | 0.912 | 0.886 | 0.878 | 0.843 | 0.887 |

Without the noise the flat parts of a map, where the bootstrap and gradient are near zero, get
intervals too narrow for the HR scan's noise, and the fitted weights make up for it on the val
areas' specimens: the coverage falls from fine domains (A, over) to coarse ones (E, F, under). The
Spearman correlations are the same both ways (it ranks maps; the noise adds one constant).

Run: ``PYTHONPATH=src OMP_NUM_THREADS=1 python benchmarks/bench_uncertainty_folds.py RESULTS
--models srcnn linear`` (about 1 minute per fold and network on one core).
"""

import argparse
import functools
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import spearmanr

from ramansr.inference import load_model, super_resolve
from ramansr.io_utils import load_npz
from ramansr.simulate.settings import resolve_settings
from ramansr.uncertainty.bootstrap import window_parts
from ramansr.uncertainty.calibration import calibrate, combine, hr_noise_variance, map_scores
from ramansr.uncertainty.stages import pair_set_imaging


def fold_rows(pairs, fold_dir, model, reimage, level=0.9):
    """One row per calibration variant: the fold's test maps' Spearman and coverage."""
    table = pd.read_csv(fold_dir / "split.csv", dtype={"sample": str, "area": str})
    model_sr = functools.partial(super_resolve, load_model(fold_dir / "models" / model / "best.pt"))
    windows = {}
    for split in ("val", "test"):
        indices = np.flatnonzero((table["split"] == split).to_numpy())
        windows[split] = (pairs["highres"][indices], *window_parts(pairs, indices, model_sr, reimage))
    (val_reference, val_sr, val_parts), (test_reference, test_sr, test_parts) = windows["val"], windows["test"]
    if not len(val_sr):
        return []
    rows = []
    for variant, noise_variance in (("without noise", 0.0), ("with HR noise", hr_noise_variance(val_reference))):
        calibration = calibrate(val_sr, val_parts, val_reference, level, noise_variance)
        scores = map_scores(test_sr, combine(test_parts, calibration), test_reference, calibration)
        rows.append(
            {
                "fold": fold_dir.name,
                "model": model,
                "calibration": variant,
                "maps": len(test_sr),
                "spearman": spearmanr(scores["predicted_rmse"], scores["true_rmse"]).statistic,
                "mean_coverage": float(np.mean(scores["coverage"])),
                "worst_coverage": float(np.min(scores["coverage"])),
            }
        )
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", type=Path, help="a finished run's results/ with its cv/ folds")
    parser.add_argument("--models", nargs="+", default=["srcnn", "linear"])
    simulation = resolve_settings({})  # the simulated runs' optics, unless given
    parser.add_argument("--lowres-na", type=float, default=simulation["lowres"]["na"])
    parser.add_argument("--excitation-nm", type=float, default=simulation["excitation_nm"])
    args = parser.parse_args()
    pairs = load_npz(args.results / "dataset" / "pairs.npz")
    reimage = pair_set_imaging(pairs, args.lowres_na, args.excitation_nm)
    folds = sorted(path for path in (args.results / "cv").iterdir() if (path / "split.csv").exists())
    rows = [row for fold in folds for model in args.models for row in fold_rows(pairs, fold, model, reimage)]
    print(pd.DataFrame(rows).to_markdown(index=False, floatfmt=".3f"))


if __name__ == "__main__":
    main()
