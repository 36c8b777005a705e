"""Leave-one-sample-out cross-validation: the folds' scores, per fold and pooled, their table and figure.

Does a model trained on other specimens transfer to a new one? One fold per
sample: its pairs are the test split; the other samples' pairs are split by
area into train and val (:func:`ramansr.dataset.fold_split`). Every fold
reuses the run's ``pairs.npz``; only ``split.csv`` differs.

:func:`cv_summary` scores each fold's held-out maps (the ``evaluate`` stage's
per-image CSV, :func:`ramansr.metrics.score_predictions`) per model,
reference and scale: the mean with a 95 % percentile-bootstrap interval over
the maps, and the gain over linear interpolation (the mean of the per-map
differences, with its interval); the ``pooled`` rows take every held-out map
of every fold, each map once.
"""

import numpy as np
import pandas as pd

from ramansr.figure_style import new_figure, save_figure
from ramansr.io_utils import write_csv, write_text
from ramansr.metrics import MODEL_LABELS, SCALE_TITLES, SCALES, mean_with_interval

#: The model every gain is measured against.
BASELINE = "linear"
#: The ``fold`` of the rows that pool every fold's held-out maps.
POOLED = "pooled"
METRICS = {"psnr": "PSNR (dB)", "ssim": "SSIM"}
#: The figure's panel titles (SCALE_TITLES, shortened).
SCALE_PANEL_TITLES = {"common": "on the LR map's scale", "minmax": "each map min-max (the paper's)"}


def held_out_scores(metric_path, fold):
    """The test rows of one fold's per-image scores; refuses a file whose test maps are not all the fold's sample."""
    scores = pd.read_csv(metric_path, dtype={"sample": str, "area": str})
    tested = scores[scores["split"] == "test"]
    if set(tested["sample"]) != {fold}:
        raise ValueError(
            f"{metric_path}: the test maps of fold {fold!r} should all be sample {fold!r}'s, "
            f"but are of samples {sorted(set(tested['sample']))}"
        )
    return tested.assign(fold=fold)


def _summary_rows(scores, fold, held_out, confidence):
    """Per reference, scale, metric and model: mean, interval, n and the paired gain over linear."""
    rows = []
    for (reference, scale), group in scores.groupby(["reference", "scale"], sort=False):
        by_map = group.pivot_table(index=["fold", "pair_id"], columns="model", values=list(METRICS))
        for metric, label in METRICS.items():
            for model in [m for m in MODEL_LABELS if m in set(group["model"])]:
                values = by_map[(metric, model)].dropna()
                mean, low, high = mean_with_interval(values, confidence)
                gain = by_map[(metric, model)] - by_map[(metric, BASELINE)]
                gain_mean, gain_low, gain_high = mean_with_interval(gain.dropna(), confidence)
                rows.append(
                    {
                        "fold": fold,
                        "held_out": held_out,
                        "reference": reference,
                        "scale": scale,
                        "metric": label,
                        "model": model,
                        "label": MODEL_LABELS[model],
                        "mean": mean,
                        "ci_low": low,
                        "ci_high": high,
                        "n": len(values),
                        "gain": gain_mean,
                        "gain_ci_low": gain_low,
                        "gain_ci_high": gain_high,
                    }
                )
    return rows


def cv_summary(scores, confidence=0.95):
    """Per fold and pooled: each model's mean score on the held-out maps and its gain over linear.

    Parameters
    ----------
    scores : pandas.DataFrame
        The held-out (test) rows of every fold's per-image scores with a
        ``fold`` column (:func:`held_out_scores`); linear must be among the models.
    confidence : float

    Returns
    -------
    pandas.DataFrame
        One row per fold (then ``POOLED``), reference, scale, metric and
        model: fold, held_out (the held-out sample; for the pooled rows every
        fold's, comma-separated), reference, scale, metric, model, label,
        mean, ci_low, ci_high, n (maps), gain, gain_ci_low, gain_ci_high
        (the model minus linear on the same maps; 0 for linear).
    """
    if BASELINE not in set(scores["model"]):
        raise ValueError(f"the cross-validation's gains are over {BASELINE}: add {BASELINE} to models")
    folds = list(dict.fromkeys(scores["fold"]))
    rows = []
    for fold in folds:
        rows += _summary_rows(scores[scores["fold"] == fold], fold, fold, confidence)
    rows += _summary_rows(scores, POOLED, ", ".join(folds), confidence)
    return pd.DataFrame(rows)


def fold_overview(split_paths, folds):
    """Per fold: the held-out sample, its test maps, and the areas it trains and validates on."""

    def areas(table, split):
        chosen = table.loc[table["split"] == split, ["sample", "area"]].drop_duplicates()
        return ", ".join(f"{s}/{a}" for s, a in chosen.itertuples(index=False)) or "none"

    rows = []
    for fold, path in zip(folds, split_paths, strict=True):
        table = pd.read_csv(path, dtype={"sample": str, "area": str})
        rows.append(
            {
                "held_out": fold,
                "test_maps": int((table["split"] == "test").sum()),
                "train_areas": areas(table, "train"),
                "val_areas": areas(table, "val"),
            }
        )
    return pd.DataFrame(rows)


def _cell(row, digits, with_gain):
    """'mean [low, high]', then '; +gain' when ``with_gain``."""
    text = f"{row['mean']:.{digits}f} [{row['ci_low']:.{digits}f}, {row['ci_high']:.{digits}f}]"
    return f"{text}; {row['gain']:+.{digits}f}" if with_gain else text


def cv_markdown(summary, overview):
    """cv.md: the folds, then per reference, scale and metric a table of held-out sample x model."""
    lines = [
        "## Leave-one-sample-out cross-validation",
        "",
        "Each fold trains on the other samples' pairs and tests on the held-out sample's maps:",
        "",
        "| Held-out sample | Test maps | Train areas | Val areas |",
        "|---|---|---|---|",
    ]
    lines += [f"| {r.held_out} | {r.test_maps} | {r.train_areas} | {r.val_areas} |" for r in overview.itertuples()]
    lines += [
        "",
        "Cells: mean over the held-out maps [95 % bootstrap interval]; after ';' the gain over linear "
        "interpolation on the same maps. *pooled*: every fold's held-out maps together.",
    ]
    models = [m for m in MODEL_LABELS if m in set(summary["model"])]
    for (reference, scale, metric), group in summary.groupby(["reference", "scale", "metric"], sort=False):
        digits = 2 if metric.startswith("PSNR") else 3
        lines += [
            "",
            f"### {metric}, against the {reference} HR map, {SCALE_TITLES[scale]}",
            "",
            "| Held-out sample | Maps | " + " | ".join(MODEL_LABELS[m] for m in models) + " |",
            "|---" * (len(models) + 2) + "|",
        ]
        for fold, rows in group.groupby("fold", sort=False):
            rows = rows.set_index("model")
            cells = [_cell(rows.loc[m], digits, m != BASELINE) for m in models]
            lines.append(f"| {fold} | {int(rows['n'].max())} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main_reference(summary):
    """The reference the figure shows: the noise-free truth when the data have one, else the measured HR map."""
    return "clean" if "clean" in set(summary["reference"]) else "measured"


def plot_cv_gain(summary, out_paths):
    """Per fold (and pooled), each model's PSNR gain over linear with its 95 % interval, one panel per scale."""
    reference = main_reference(summary)
    psnr = summary[(summary["metric"] == METRICS["psnr"]) & (summary["reference"] == reference)]
    models = [m for m in MODEL_LABELS if m in set(psnr["model"]) and m != BASELINE]
    folds = list(dict.fromkeys(psnr["fold"]))
    fig, axes = new_figure(1, len(SCALES), panel_size=(max(3.2, 1.0 + 0.15 * len(folds) * len(models)), 2.8))
    width = 0.8 / max(len(models), 1)
    for ax, scale in zip(axes[0], SCALES, strict=True):
        table = psnr[psnr["scale"] == scale].set_index(["fold", "model"])
        for i, model in enumerate(models):
            rows = table.loc[[(fold, model) for fold in folds]]
            x = np.arange(len(folds)) + (i - (len(models) - 1) / 2) * width
            errors = np.abs(rows[["gain_ci_low", "gain_ci_high"]].to_numpy().T - rows["gain"].to_numpy())
            ax.bar(x, rows["gain"], width, yerr=errors, color=f"C{i}", label=MODEL_LABELS[model], capsize=2)
        ax.axhline(0, color="black", linewidth=0.8)
        ax.set_xticks(np.arange(len(folds)), folds)
        ax.set_xlabel("held-out sample")
        ax.set_ylabel("PSNR gain over linear (dB)")
        ax.set_title(SCALE_PANEL_TITLES[scale])
    if models:
        axes[0, -1].legend(frameon=False, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    fig.suptitle(f"Leave-one-sample-out: gain over linear, against the {reference} HR map")
    save_figure(fig, out_paths)


def write_cv_outputs(metric_paths, metric_folds, split_paths, folds, outputs):
    """The ``cv_tables`` stage: cv.csv, cv.md and the gain figure.

    ``metric_paths`` are every fold's per-image scores, ``metric_folds`` the
    fold of each; ``split_paths`` the folds' split files, in the order of
    ``folds``; ``outputs`` maps csv, md and figure (a list of paths) to paths.
    """
    scores = pd.concat(
        [held_out_scores(path, fold) for path, fold in zip(metric_paths, metric_folds, strict=True)],
        ignore_index=True,
    )
    summary = cv_summary(scores)
    write_csv(summary, outputs["csv"])
    write_text(cv_markdown(summary, fold_overview(split_paths, folds)), outputs["md"])
    plot_cv_gain(summary, outputs["figure"])
