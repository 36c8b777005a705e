"""The ``uncertainty`` and ``uncertainty_table`` stages: a model's calibration and test scores, and their tables."""

import functools
import sys

import numpy as np
import pandas as pd
from scipy.stats import spearmanr

from ramansr.optics import DEFAULT_EXCITATION_NM, DEFAULT_LOWRES_NA, reimage_lowres
from ramansr.uncertainty.bootstrap import window_parts
from ramansr.uncertainty.calibration import calibrate, combine, hr_noise_variance, map_scores


def pair_set_imaging(pairs, lowres_na=DEFAULT_LOWRES_NA, excitation_nm=DEFAULT_EXCITATION_NM):
    """The LR imaging of a pair set's maps (:func:`ramansr.optics.reimage_lowres` at its factor and LR step).

    Parameters
    ----------
    pairs : mapping
        ``pairs.npz``'s contents (``factor``, ``lowres_step_um``).
    lowres_na, excitation_nm : float
        The LR objective's.

    Returns
    -------
    callable
        ``(k, H, W)`` maps on the SR grid -> their ``(k, h, w)`` LR images.
    """
    return functools.partial(
        reimage_lowres,
        factor=int(pairs["factor"]),
        lowres_step_um=float(pairs["lowres_step_um"][0]),
        na=lowres_na,
        wavelength_um=excitation_nm / 1e3,
    )


def calibrate_model_file(model_name, checkpoint_path, pairs_path, split_path, settings, outputs, **imaging):
    """The ``uncertainty`` stage: one model's calibration on the train and val pairs, and its scores on the test pairs.

    Calibrating on the training areas too gives about six times the areas of the val split alone, and it
    is what brings every held-out sample's coverage within 0.85-0.95: on the default run's
    leave-one-sample-out folds, calibrated on the val pairs alone, the coverage of sample E's maps
    was 0.84-0.86, of the heterogeneous preset's test maps 0.96, because three val areas stood for
    all specimens (``benchmarks/bench_uncertainty_folds.py``). The training areas' errors are
    in-sample, but at the default budget they are about as large as the val areas' for the uncertainty
    (median true over predicted RMSE 0.88 and 0.91 for SRCNN, 0.87 and 0.94 for SRResNet on the
    default run); a model trained until it fits its training windows (the paper's 1000 epochs) must
    calibrate on ``val`` alone, as ``config/paper.yaml`` does.

    Parameters
    ----------
    model_name : str
    checkpoint_path, pairs_path, split_path : path-like
        ``best.pt``, ``pairs.npz`` and ``split.csv``.
    settings : dict
        The config's ``uncertainty:`` (``level``, ``draws``, ``noise_scale``, ``calibrate_on``: the
        splits whose pairs calibrate).
    outputs : dict
        ``calibration``: the JSON of :func:`~ramansr.uncertainty.calibration.calibrate`, with ``draws``,
        ``noise_scale`` (what :func:`~ramansr.uncertainty.calibration.map_uncertainty` needs) and
        ``calibrated_on``; ``scores``: a CSV, one row per test map (model, pair_id, sample, area,
        component, predicted_rmse, true_rmse, coverage). Without pairs in those splits (a
        cross-validation fold with a single other area, calibrated on ``val`` alone) the calibration
        has no weights and quantile (None, 0 pixels) and the scores' predicted_rmse and coverage are NaN.
    **imaging
        ``lowres_na`` and ``excitation_nm`` of the LR objective (absent: ramansr.optics' defaults);
        the LR step is the pairs'.
    """
    from ramansr.inference import load_model, super_resolve
    from ramansr.io_utils import load_npz, write_csv, write_json

    pairs = load_npz(pairs_path)
    table = pd.read_csv(split_path, dtype={"sample": str, "area": str})
    reimage = pair_set_imaging(pairs, **imaging)
    model_sr = functools.partial(super_resolve, load_model(checkpoint_path))
    bootstrap = {"draws": settings["draws"], "noise_scale": settings["noise_scale"]}
    calibrated_on = list(settings["calibrate_on"])
    windows = {}
    for role, splits in (("calibration", calibrated_on), ("test", ["test"])):
        indices = np.flatnonzero(table["split"].isin(splits).to_numpy())
        windows[role] = (indices, *window_parts(pairs, indices, model_sr, reimage, **bootstrap))
    indices, sr, parts = windows["calibration"]
    if len(indices):
        reference = pairs["highres"][indices]
        calibration = calibrate(sr, parts, reference, settings["level"], hr_noise_variance(reference))
    else:
        # [val] alone, in a cross-validation fold whose other samples have a single area between them
        names = " or ".join(calibrated_on)
        print(f"{model_name}: no {names} pairs to calibrate the uncertainty on: test scores NaN", file=sys.stderr)
        calibration = {"level": settings["level"], "weights": None, "quantile": None, "pixels": 0}
    write_json({**calibration, **bootstrap, "calibrated_on": calibrated_on}, outputs["calibration"])
    indices, sr, parts = windows["test"]
    if calibration["pixels"]:
        scores = map_scores(sr, combine(parts, calibration), pairs["highres"][indices], calibration)
    else:
        nan = np.full(len(indices), np.nan)
        error = pairs["highres"][indices] - sr
        scores = {"predicted_rmse": nan, "true_rmse": np.sqrt(np.mean(error**2, axis=(1, 2))), "coverage": nan}
    rows = table.iloc[indices][["pair_id", "sample", "area", "component"]].assign(model=model_name, **scores)
    write_csv(rows[["model", "pair_id", "sample", "area", "component", *scores]], outputs["scores"])


def uncertainty_table(scores, level=0.9, threshold_rmse=None):
    """Every test map's predicted and true RMSE and coverage, and per model (and fold) their Spearman correlation.

    Parameters
    ----------
    scores : pandas.DataFrame
        The rows of :func:`calibrate_model_file`, with a ``fold`` column for a cross-validation's.
    level : float
        The intervals' nominal coverage (the column is named after it).
    threshold_rmse : float or None
        A map whose predicted RMSE is above it is flagged (``flagged``); None flags none.

    Returns
    -------
    per_map : pandas.DataFrame
        The rows, ``coverage`` renamed ``coverage_{100 level}``, and ``flagged``.
    summary : pandas.DataFrame
        Per model (fold, model with folds): maps, spearman (NaN with fewer than 3 maps),
        mean_coverage, worst_coverage.
    """
    column = f"coverage_{round(100 * level)}"
    keys = [key for key in ("fold", "model") if key in scores]
    per_map = scores.rename(columns={"coverage": column})
    per_map["flagged"] = per_map["predicted_rmse"] > (np.inf if threshold_rmse is None else threshold_rmse)
    summary = pd.DataFrame(
        [
            {
                **dict(zip(keys, names, strict=True)),
                "maps": len(group),
                "spearman": spearmanr(group["predicted_rmse"], group["true_rmse"]).statistic
                if len(group) > 2
                else np.nan,
                "mean_coverage": group[column].mean(),
                "worst_coverage": group[column].min(),
            }
            for names, group in per_map.groupby(keys, sort=False)
        ]
    )
    return per_map, summary


def _markdown_rows(table, columns):
    """Markdown table lines of ``table``'s columns, {column: (header, format)}."""
    lines = ["| " + " | ".join(header for header, _ in columns.values()) + " |", "|---" * len(columns) + "|"]
    for row in table.itertuples(index=False):
        cells = [format(getattr(row, name), spec) for name, (_, spec) in columns.items()]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def uncertainty_markdown(per_map, summary, level=0.9):
    """The tables of :func:`uncertainty_table` as Markdown: the summary, then every map."""
    column = f"coverage_{round(100 * level)}"
    fold = {"fold": ("held-out sample", "")} if "fold" in summary else {}
    lines = [f"### Uncertainty of the test maps against the measured HR maps ({round(100 * level)} % intervals)", ""]
    lines += _markdown_rows(
        summary,
        {
            **fold,
            "model": ("model", ""),
            "maps": ("maps", "d"),
            "spearman": ("Spearman (predicted, true RMSE)", ".2f"),
            "mean_coverage": ("mean coverage", ".3f"),
            "worst_coverage": ("worst map's coverage", ".3f"),
        },
    )
    lines += [
        "",
        "Predicted RMSE: from the uncertainty alone (no HR scan); true RMSE: against the measured HR map, on the LR "
        "map's scale; coverage: the share of the map's HR-window pixels inside the interval. Spearman: over the "
        "maps of the row.",
        "",
    ]
    lines += _markdown_rows(
        per_map.assign(flagged=per_map["flagged"].map({True: "yes", False: ""})),
        {
            **fold,
            "model": ("model", ""),
            "pair_id": ("map", ""),
            "predicted_rmse": ("predicted RMSE", ".4f"),
            "true_rmse": ("true RMSE", ".4f"),
            column: ("coverage", ".3f"),
            "flagged": ("flagged", ""),
        },
    )
    return "\n".join(lines) + "\n"


def uncertainty_table_file(score_paths, settings, csv_path, md_path, folds=None):
    """The ``uncertainty_table`` stage: :func:`uncertainty_table` of every model's scores, as CSV and Markdown.

    ``folds``: the cross-validation fold of each of ``score_paths`` (None: the run's own test maps).
    """
    from ramansr.io_utils import write_csv, write_text

    tables = [pd.read_csv(p, dtype={"sample": str, "area": str}) for p in score_paths]
    if folds is not None:
        tables = [table.assign(fold=str(fold)) for table, fold in zip(tables, folds, strict=True)]
    per_map, summary = uncertainty_table(
        pd.concat(tables, ignore_index=True), settings["level"], settings["threshold_rmse"]
    )
    write_csv(per_map, csv_path)
    write_text(uncertainty_markdown(per_map, summary, settings["level"]), md_path)
