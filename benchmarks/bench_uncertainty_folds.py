"""The uncertainty's calibration per cross-validation fold (issue 27): its calibration areas and the HR scan's noise.

Uses a finished run (its ``dataset/pairs.npz``, ``dataset/split.csv`` and ``models/{model}/best.pt``)
and, with ``dataset: cv: leave_one_sample_out``, its folds (``cv/{fold}/split.csv`` and
``cv/{fold}/models/{model}/best.pt``). For the run's own split (``--run``; the fold column says
``run``) and each fold, and each model, it computes the SR maps and the uncertainty's parts on the HR
windows of every pair (:func:`ramansr.uncertainty.bootstrap.window_parts`, the pipeline's 8 noiseless
draws), calibrates (:func:`ramansr.uncertainty.calibration.calibrate`) three ways and scores the test
maps against their measured HR maps:

- ``val, without noise``: on the val pairs, the parts' weights fitted to the squared errors alone;
- ``val, with HR noise``: on the val pairs, the measured HR maps' white-noise variance
  (:func:`ramansr.uncertainty.calibration.hr_noise_variance`) added to every pixel's variance, the
  parts fitted to the rest (the version before);
- ``train and val, with HR noise``: the same on the train and val pairs (the pipeline's,
  ``uncertainty: calibrate_on: [train, val]``).

Prints, per fold and model, the Spearman correlation of predicted and true RMSE over the test maps,
the mean and worst map's coverage of the 90 % intervals, and the median over the train, the val and
the test maps of their true over predicted RMSE: the training areas' errors are in-sample, and a
train median well under the val one would say the model fits them (then calibrate on val alone).

Measured on the default run (SRCNN pretrained), its cross-validation (the folds' own models) and the
heterogeneous preset's run (``--configfile config/heterogeneous.yaml``), mean coverage of the test
maps (one thread, 2 shared cores):

| model, calibrated on | default | heterogeneous | A | B | C | D | E | F |
|---|---|---|---|---|---|---|---|---|
| SRCNN, val, without noise | 0.906 | 0.962 | 0.952 | 0.918 | 0.900 | 0.867 | 0.830 | 0.858 |
| SRCNN, val, with HR noise | 0.907 | 0.961 | 0.922 | 0.882 | 0.896 | 0.886 | 0.855 | 0.901 |
| SRCNN, train and val, with HR noise | 0.906 | 0.932 | 0.936 | 0.893 | 0.907 | 0.894 | 0.863 | 0.904 |
| linear, val, without noise | 0.918 | 0.959 | 0.955 | 0.936 | 0.894 | 0.861 | 0.808 | 0.844 |
| linear, val, with HR noise | 0.919 | 0.959 | 0.922 | 0.912 | 0.886 | 0.878 | 0.843 | 0.887 |
| linear, train and val, with HR noise | 0.918 | 0.934 | 0.928 | 0.917 | 0.909 | 0.897 | 0.857 | 0.892 |

Without the noise the flat parts of a map, where the bootstrap and gradient are near zero, get
intervals too narrow for the HR scan's noise, and the fitted weights make up for it on the val
areas' specimens: the coverage falls from fine domains (A, over) to coarse ones (E, F, under). The
val split's 3 areas stand for few specimens: on the heterogeneous preset two of its 9 maps carry
errors the parts miss, and the intervals they set over-cover every test map; with the train areas
(60 maps) the calibration is wider-based and every fold's coverage lies within 0.85-0.95. The
Spearman correlations hardly move (they rank maps).

Run: ``PYTHONPATH=src OMP_NUM_THREADS=1 python benchmarks/bench_uncertainty_folds.py RESULTS
--models srcnn linear --run`` (about 1 minute per fold and network on one core).
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

#: name -> (the splits calibrated on, with the HR scan's noise)
VARIANTS = {
    "val, without noise": (["val"], False),
    "val, with HR noise": (["val"], True),
    "train and val, with HR noise": (["train", "val"], True),
}


def fold_rows(pairs, split_path, model_path, fold, model, reimage, level=0.9):
    """One row per calibration variant: the fold's test maps' Spearman and coverage."""
    table = pd.read_csv(split_path, dtype={"sample": str, "area": str})
    model_sr = functools.partial(super_resolve, load_model(model_path))
    windows = {}
    for split in ("train", "val", "test"):
        indices = np.flatnonzero((table["split"] == split).to_numpy())
        windows[split] = (pairs["highres"][indices], *window_parts(pairs, indices, model_sr, reimage))
    test_reference, test_sr, test_parts = windows["test"]
    rows = []
    for variant, (splits, with_noise) in VARIANTS.items():
        reference, sr = (np.concatenate([windows[split][k] for split in splits]) for k in (0, 1))
        parts = np.concatenate([windows[split][2] for split in splits], axis=1)
        if not len(sr):
            continue
        calibration = calibrate(sr, parts, reference, level, hr_noise_variance(reference) if with_noise else 0.0)
        scores = map_scores(test_sr, combine(test_parts, calibration), test_reference, calibration)
        ratios = {}
        for split in ("train", "val"):
            reference_split, sr_split, parts_split = windows[split]
            scored = map_scores(sr_split, combine(parts_split, calibration), reference_split, calibration)
            ratios[f"{split}_true_over_predicted"] = float(np.median(scored["true_rmse"] / scored["predicted_rmse"]))
        rows.append(
            {
                "fold": fold,
                "model": model,
                "calibration": variant,
                "maps": len(test_sr),
                "spearman": spearmanr(scores["predicted_rmse"], scores["true_rmse"]).statistic,
                "mean_coverage": float(np.mean(scores["coverage"])),
                "worst_coverage": float(np.min(scores["coverage"])),
                "calibration_maps": len(sr),
                **ratios,
                "test_true_over_predicted": float(np.median(scores["true_rmse"] / scores["predicted_rmse"])),
            }
        )
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", type=Path, help="a finished run's results/, with or without cv/ folds")
    parser.add_argument("--models", nargs="+", default=["srcnn", "linear"])
    parser.add_argument("--run", action="store_true", help="also the run's own split")
    simulation = resolve_settings({})  # the simulated runs' optics, unless given
    parser.add_argument("--lowres-na", type=float, default=simulation["lowres"]["na"])
    parser.add_argument("--excitation-nm", type=float, default=simulation["excitation_nm"])
    args = parser.parse_args()
    pairs = load_npz(args.results / "dataset" / "pairs.npz")
    reimage = pair_set_imaging(pairs, args.lowres_na, args.excitation_nm)
    folds = [("run", args.results / "dataset" / "split.csv", args.results / "models")] if args.run else []
    cv = args.results / "cv"
    folds += [
        (path.name, path / "split.csv", path / "models")
        for path in sorted(cv.glob("*"))
        if (path / "split.csv").exists()
    ]
    rows = [
        row
        for fold, split_path, models in folds
        for model in args.models
        for row in fold_rows(pairs, split_path, models / model / "best.pt", fold, model, reimage)
    ]
    print(pd.DataFrame(rows).to_markdown(index=False, floatfmt=".3f"))


if __name__ == "__main__":
    main()
