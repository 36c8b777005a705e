"""How much a network's test score depends on the orientation of its input, and the self-ensemble (issue 26).

Uses a finished run (its ``dataset/pairs.npz``, ``dataset/split.csv`` and ``models/{model}/best.pt``)
and, with ``dataset: cv: leave_one_sample_out``, its folds (``cv/{fold}/split.csv`` and
``cv/{fold}/models/{model}/best.pt``). For the run's own split (``--run``) and each fold, and each
model, the test maps' LR maps are turned and mirrored by each of the 8 elements of the square's
symmetry group (:data:`ramansr.uncertainty.bootstrap.DIHEDRAL`), super-resolved, and turned back.
Each of the 8 outputs, and their mean (the geometric self-ensemble of EDSR's "+" models), is scored
against the noise-free HR map on the LR map's scale (:func:`ramansr.metrics.score_predictions`), with
the window cut at the registered corner rounded to whole HR pixels (as the tables cut it) and at the
sub-pixel corner (``subpixel=True``). Printed: the gain over bicubic (which, like linear and Wiener,
gives the same score in every orientation) as the model runs (``as run``), the mean, lowest and highest
over the 8 orientations, and the self-ensemble's.

A model trained with random flips and quarter turns (``training: augment``) should score alike in
every orientation, and the simulated scans are alike in every orientation; a spread says how much of
a score is the model's chance orientation, and the self-ensemble removes it. Measured on the default
run (SRCNN pretrained, the deep networks from scratch), the gain over bicubic in dB (one thread, 2
cores shared with one other one-thread job):

| split | model | corner | as run | 8 orientations: mean [min, max] | self-ensemble |
|---|---|---|---|---|---|
| run | SRCNN | rounded | +0.47 | +0.20 [-0.05, +0.47] | +0.31 |
| run | SRCNN | sub-pixel | +0.31 | +0.27 [+0.23, +0.32] | +0.45 |
| run | SRCNN, retrained (same settings, same seed) | rounded | +0.42 | +0.06 [-0.26, +0.42] | +0.18 |
| run | SRCNN, retrained | sub-pixel | +0.09 | +0.06 [+0.02, +0.11] | +0.27 |
| run | SRCNN, without pretraining | rounded | -0.00 | +0.01 [-0.11, +0.11] | +0.23 |
| run | SRCNN, without pretraining | sub-pixel | +0.06 | +0.03 [-0.00, +0.09] | +0.35 |
| run | SRResNet | rounded | +0.03 | +0.01 [-0.04, +0.06] | +0.03 |
| run | SRResNet | sub-pixel | -0.00 | +0.01 [-0.01, +0.03] | +0.03 |
| run | RCAN | rounded | +0.11 | +0.07 [+0.01, +0.13] | +0.08 |
| run | RCAN | sub-pixel | +0.07 | +0.08 [+0.07, +0.09] | +0.09 |

With the window cut at the rounded corner (up to half an HR pixel off, which caps even a perfect
output at 32 dB) SRCNN's score swings by 0.5 dB between orientations: its output is shifted by less
than a tenth of an HR pixel (phase correlation against bicubic: 0.06-0.08 px along the columns for
the two pretrained models, 0.04 for the one without pretraining), and against windows half a pixel
off that decides much of the score. The default run's SRCNN happens to score its best in the
orientation it runs in; the mean over orientations is +0.20, not +0.47. Cut at the sub-pixel corner
the spread shrinks to about 0.1 dB and the self-ensemble adds 0.14-0.29 dB to the default run's SRCNNs
(there it averages the model's errors, not the window's); to the deep networks, which stay near
bicubic, 0.02-0.03 (0.00-0.05 in the folds and on heterogeneous specimens). The heterogeneous
preset's run (SRCNN, as run / mean / self-ensemble): rounded +0.10 / +0.06 / +0.09, sub-pixel +0.08
/ +0.07 / +0.11. The cross-validation's folds (the fold's own SRCNN):

| fold | rounded: as run / mean [min, max] / self-ensemble | sub-pixel: as run / mean [min, max] / self-ensemble |
|---|---|---|
| A | +0.02 / +0.04 [-0.05, +0.13] / +0.14 | -0.02 / +0.01 [-0.02, +0.06] / +0.15 |
| B | +0.28 / +0.16 [-0.21, +0.54] / +0.25 | +0.19 / +0.18 [+0.15, +0.21] / +0.30 |
| C | +0.44 / +0.19 [-0.04, +0.44] / +0.27 | +0.23 / +0.22 [+0.21, +0.23] / +0.32 |
| D | +0.52 / +0.41 [+0.31, +0.52] / +0.45 | +0.61 / +0.57 [+0.53, +0.61] / +0.64 |
| E | +0.29 / +0.27 [+0.19, +0.36] / +0.33 | +0.28 / +0.27 [+0.22, +0.34] / +0.36 |
| F | +0.12 / +0.07 [+0.03, +0.12] / +0.10 | +0.14 / +0.10 [+0.06, +0.14] / +0.14 |

Cut at the sub-pixel corner the self-ensemble never scores below the model as run (+0.00 to +0.17
over it in the folds); at the rounded corner it does in 4 of the 6 folds and on the default split.

Run: ``PYTHONPATH=src OMP_NUM_THREADS=1 python benchmarks/bench_orientation.py RESULTS --run
--models srcnn srresnet rcan`` (``--checkpoint LABEL=PATH`` adds a model of your own on the run's
split; about 1 minute per fold and network on one core).
"""

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

from ramansr.inference import load_model, super_resolve
from ramansr.io_utils import load_npz
from ramansr.metrics import score_predictions
from ramansr.models import build
from ramansr.uncertainty.bootstrap import DIHEDRAL, transform, untransform


def test_psnr(upscaled, pairs, table, subpixel):
    """Mean PSNR of the maps against the noise-free HR map, on the LR map's scale."""
    scores = score_predictions("model", upscaled, pairs, table, subpixel=subpixel)
    return float(scores.loc[(scores["reference"] == "clean") & (scores["scale"] == "common"), "psnr"].mean())


def oriented_outputs(model, lowres_maps):
    """The model's output for each of the 8 orientations of the LR maps, turned back to theirs."""
    return [
        untransform(
            super_resolve(model, np.ascontiguousarray(transform(lowres_maps, turns, mirror, (0, 0)))),
            turns,
            mirror,
            (0, 0),
        )
        for turns, mirror in DIHEDRAL
    ]


def fold_rows(pairs, split_path, checkpoints, fold):
    """One row per model and corner: the gains over bicubic of the test maps, as run, per orientation, ensembled."""
    table = pd.read_csv(split_path, dtype={"sample": str, "area": str})
    test = (table["split"] == "test").to_numpy()
    per_map = {key: value for key, value in pairs.items() if np.ndim(value) and len(value) == len(table)}
    test_pairs = {**pairs, **{key: value[test] for key, value in per_map.items()}}
    test_table = table[test].reset_index(drop=True)
    bicubic = super_resolve(build("bicubic", scaling_factor=int(pairs["factor"])), test_pairs["lowres"])
    rows = []
    for label, checkpoint in checkpoints:
        outputs = oriented_outputs(load_model(checkpoint, "cpu"), test_pairs["lowres"])
        for subpixel in (False, True):
            base = test_psnr(bicubic, test_pairs, test_table, subpixel)
            gains = np.array([test_psnr(output, test_pairs, test_table, subpixel) for output in outputs]) - base
            ensemble = test_psnr(np.mean(outputs, axis=0), test_pairs, test_table, subpixel) - base
            rows.append(
                {
                    "split": fold,
                    "model": label,
                    "corner": "sub-pixel" if subpixel else "rounded",
                    "bicubic": base,
                    "as run": gains[0],  # DIHEDRAL[0] is the identity
                    "mean": gains.mean(),
                    "min": gains.min(),
                    "max": gains.max(),
                    "self-ensemble": ensemble,
                }
            )
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", type=Path, help="a finished run's results/, with or without cv/ folds")
    parser.add_argument("--models", nargs="+", default=["srcnn", "srresnet", "rcan"])
    parser.add_argument("--run", action="store_true", help="also the run's own split")
    parser.add_argument("--checkpoint", action="append", default=[], metavar="LABEL=PATH", help="a model of your own")
    args = parser.parse_args()
    pairs = load_npz(args.results / "dataset" / "pairs.npz")
    folds = []
    if args.run or args.checkpoint:
        own = [tuple(item.split("=", 1)) for item in args.checkpoint]
        run_models = [(model, args.results / "models" / model / "best.pt") for model in args.models] if args.run else []
        folds.append(("run", args.results / "dataset" / "split.csv", run_models + own))
    folds += [
        (path.name, path / "split.csv", [(model, path / "models" / model / "best.pt") for model in args.models])
        for path in sorted((args.results / "cv").glob("*"))
        if (path / "split.csv").exists()
    ]
    rows = [row for fold, split_path, checkpoints in folds for row in fold_rows(pairs, split_path, checkpoints, fold)]
    print(pd.DataFrame(rows).to_markdown(index=False, floatfmt=("", "", "", ".2f") + ("+.2f",) * 5))


if __name__ == "__main__":
    main()
