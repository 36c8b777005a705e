"""Scores of super-resolved maps on the HR window, and the paper's tables.

A model's output (the LR map upscaled by the run's SR factor) covers the
whole upscaled LR field; it is scored on the HR window cropped at the area's
registered (X, Y), as in the paper, on two scales (the ``scale`` column), both with ``data_range=1.0``:

- ``common``: the prediction and the reference as they are, on the LR map's
  scale (see :mod:`ramansr.convention`): a wrong contrast or a lifted
  background costs;
- ``minmax``: each window and each reference min-max normalised on its own,
  the paper's map images: comparable with the paper's tables, blind to any
  affine intensity error.

The window is cut at the registered corner rounded to whole HR pixels (:func:`crop_window`), or with
``subpixel`` at the registered corner itself, the upscaled map resampled by a cubic spline
(:func:`sample_window`): rounding moves the window by up to half an HR pixel (0.45 on average on the
default run), which caps even a perfect super-resolution at 32 dB against the noise-free truth
(42 dB at the exact corner; ``benchmarks/bench_pretrain.py --ceiling``).

References (the ``reference`` column): the measured HR map, and on simulated
data the noise-free truth (in LR units, independent of the calibration).

The ``frame`` column needs no reference: how much darker (negative) or brighter
the outer LR pixel's strip of the whole upscaled map is than the strip inside
it, beyond what bicubic interpolation of the same LR map gives
(:func:`frame`), on the LR map's scale; it is filled on the ``common`` rows.
"""

import numpy as np
import pandas as pd
from scipy import ndimage
from scipy.stats import bootstrap
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from ramansr.io_utils import load_npz, write_csv, write_text
from ramansr.models import LABELS

DATA_RANGE = 1.0
SCALES = ("common", "minmax")

# The tables' columns with their display names: the registry's models in the paper's order (Tables I and II),
# then the measured HR map, the ceiling.
MODEL_LABELS = {**LABELS, "measured_hr": "Measured HR (ceiling)"}

# The per-image columns the tables report, with their row labels.
TABLE_METRICS = {"psnr": "PSNR (dB)", "ssim": "SSIM", "frame": "Frame (border strip - inside, vs bicubic)"}


#: HR pixels by which :func:`sample_window` extends a map (odd reflection) before its spline: enough
#: that the spline's own boundary condition no longer reaches the map (it decays by 0.27 a pixel).
SUBPIXEL_PAD = 8


def sample_window(upscaled, position, shape):
    """The HR window at a sub-pixel corner of an upscaled map, by cubic spline interpolation.

    The map is first extended by :data:`SUBPIXEL_PAD` pixels by odd reflection about its edge pixels
    (``2 f(0) - f(k)``: the map's value and slope continue), so that a map that is a smooth function
    of position gives back that function's window at any fractional corner, to the spline's accuracy,
    up to the edge (a cubic polynomial exactly, away from the edge). At a whole-pixel corner the
    window is the slice :func:`crop_window` cuts (the spline passes through the samples).

    Parameters
    ----------
    upscaled : ndarray, (rows, cols)
    position : (X, Y) float
        Top-left corner in pixels of ``upscaled`` (column, row), kept inside the map.
    shape : (height, width)

    Returns
    -------
    ndarray of float64, ``shape``
        Pixel ``(i, j)`` is the map at row ``Y + i``, column ``X + j``.
    """
    height, width = shape
    image = np.asarray(upscaled, dtype=np.float64)
    x = float(np.clip(float(position[0]), 0, image.shape[1] - width))
    y = float(np.clip(float(position[1]), 0, image.shape[0] - height))
    padded = np.pad(image, SUBPIXEL_PAD, mode="reflect", reflect_type="odd")
    rows = SUBPIXEL_PAD + y + np.arange(height, dtype=np.float64)
    cols = SUBPIXEL_PAD + x + np.arange(width, dtype=np.float64)
    coordinates = np.meshgrid(rows, cols, indexing="ij")
    return ndimage.map_coordinates(padded, coordinates, order=3, mode="mirror")


def crop_window(upscaled, position, shape, subpixel=False):
    """Cut the HR window out of an upscaled map.

    Parameters
    ----------
    upscaled : ndarray, shape (rows, cols)
    position : (X, Y)
        Top-left corner; rounded to the nearest pixel and kept inside the map, or with ``subpixel``
        kept as it is (inside the map).
    shape : (height, width)
    subpixel : bool
        Resample the map at the exact corner (:func:`sample_window`, float64) instead of slicing
        at the rounded one (a view of ``upscaled``).
    """
    if subpixel:
        return sample_window(upscaled, position, shape)
    height, width = shape
    x = int(np.clip(round(float(position[0])), 0, upscaled.shape[1] - width))
    y = int(np.clip(round(float(position[1])), 0, upscaled.shape[0] - height))
    return upscaled[y : y + height, x : x + width]


def border_gaps(upscaled, factor):
    """Each side's border strip mean minus the mean of the strip just inside it.

    Parameters
    ----------
    upscaled : ndarray, (factor h, factor w)
        A map upscaled by ``factor``.
    factor : int
        The SR factor: a strip is ``factor`` pixels wide, one LR pixel.

    Returns
    -------
    ndarray of float64, (4,)
        Top, bottom, left and right.
    """
    image = np.asarray(upscaled, dtype=np.float64)
    f = int(factor)
    strips = (
        (image[:f], image[f : 2 * f]),
        (image[-f:], image[-2 * f : -f]),
        (image[:, :f], image[:, f : 2 * f]),
        (image[:, -f:], image[:, -2 * f : -f]),
    )
    return np.array([border.mean() - inside.mean() for border, inside in strips])


def frame(upscaled, bicubic, factor):
    """The frame an upscaling draws around a map: its border gaps beyond bicubic interpolation's.

    A map's own structure gives its border strip a gap to the strip inside it (a ramp, an edge);
    bicubic interpolation of the same LR map has that gap and no frame of its own, so the
    difference is what the model adds at the border (negative: a dark frame).

    Parameters
    ----------
    upscaled, bicubic : ndarray, (factor h, factor w)
        The model's output and the bicubic upscaling of the same LR map.
    factor : int

    Returns
    -------
    float
        The mean over the four sides, in the maps' units (the LR map's range is 1).
    """
    return float(np.mean(border_gaps(upscaled, factor) - border_gaps(bicubic, factor)))


def score(prediction, reference):
    """PSNR (dB) and SSIM of one predicted window against its reference, data_range 1.

    No clipping: on the common scale an HR window may reach beyond the LR
    map's [0, 1].
    """
    prediction = np.asarray(prediction, dtype=np.float64)
    reference = np.asarray(reference, dtype=np.float64)
    return {
        "psnr": float(peak_signal_noise_ratio(reference, prediction, data_range=DATA_RANGE)),
        "ssim": float(structural_similarity(reference, prediction, data_range=DATA_RANGE)),
    }


def minmax(image):
    """An image min-max normalised to [0, 1] on its own (a constant image gives zeros)."""
    image = np.asarray(image, dtype=np.float64)
    span = np.ptp(image)
    return (image - image.min()) / span if span > 0 else np.zeros_like(image)


def score_scales(prediction, reference):
    """:func:`score` on each of ``SCALES``: as given (common), and each image min-max normalised on its own.

    Returns
    -------
    dict
        scale -> {psnr, ssim}
    """
    return {"common": score(prediction, reference), "minmax": score(minmax(prediction), minmax(reference))}


def _score_rows(base, prediction, reference):
    """One row per scale: ``base`` plus scale, psnr and ssim."""
    return [{**base, "scale": scale, **values} for scale, values in score_scales(prediction, reference).items()]


def score_predictions(model_name, upscaled, pairs, table, bicubic=None, subpixel=False):
    """Per-image scores of one model's upscaled maps.

    Parameters
    ----------
    model_name : str
    upscaled : ndarray, shape (n, factor h, factor w)
        The model's output for every pair's LR map.
    pairs : mapping
        The contents of ``pairs.npz``.
    table : pandas.DataFrame
        ``split.csv``, aligned with ``pairs``.
    bicubic : ndarray, shape (n, factor h, factor w), or None
        Bicubic interpolation of the same LR maps, for the ``frame`` (:func:`frame`); None leaves it out.
    subpixel : bool
        Score the window at the registered corner itself (:func:`sample_window`) instead of at the
        corner rounded to whole pixels.

    Returns
    -------
    pandas.DataFrame
        One row per pair, reference (``measured``, and ``clean`` when the
        data are simulated) and scale (``SCALES``): model, pair_id, sample,
        area, component, split, reference, scale, psnr, ssim, and with ``bicubic``
        frame (on the common rows; NaN on the others).
    """
    references = {"measured": pairs["highres"]}
    if "highres_clean" in pairs:
        references["clean"] = pairs["highres_clean"]
    rows = []
    for i, record in enumerate(table.itertuples(index=False)):
        for reference_name, reference in references.items():
            window = crop_window(upscaled[i], pairs["position"][i], reference[i].shape, subpixel)
            base = {
                "model": model_name,
                "pair_id": record.pair_id,
                "sample": record.sample,
                "area": record.area,
                "component": record.component,
                "split": record.split,
                "reference": reference_name,
            }
            rows.extend(_score_rows(base, window, reference[i]))
    scores = pd.DataFrame(rows)
    if bicubic is not None:
        factor = int(pairs["factor"])
        frames = np.array([frame(upscaled[i], bicubic[i], factor) for i in range(len(table))])
        per_row = np.repeat(frames, len(references) * len(SCALES))  # rows go pair, reference, scale
        scores["frame"] = np.where(scores["scale"] == "common", per_row, np.nan)
    return scores


def ceiling_scores(pairs, table):
    """The measured HR map scored against the clean one: the best any model can reach."""
    rows = []
    for i, record in enumerate(table.itertuples(index=False)):
        base = {
            "model": "measured_hr",
            "pair_id": record.pair_id,
            "sample": record.sample,
            "area": record.area,
            "component": record.component,
            "split": record.split,
            "reference": "clean",
        }
        rows.extend(_score_rows(base, pairs["highres"][i], pairs["highres_clean"][i]))
    return pd.DataFrame(rows)


def mean_with_interval(values, confidence=0.95, n_resamples=2000, seed=0):
    """Mean and its percentile-bootstrap interval.

    Returns
    -------
    (mean, low, high) : floats; the interval collapses to the mean when all
    values are equal or there is only one.
    """
    values = np.asarray(values, dtype=float)
    mean = float(values.mean())
    if len(values) < 2 or np.ptp(values) == 0:
        return mean, mean, mean
    result = bootstrap(
        (values,),
        np.mean,
        confidence_level=confidence,
        n_resamples=n_resamples,
        method="percentile",
        rng=np.random.default_rng(seed),
    )
    return mean, float(result.confidence_interval.low), float(result.confidence_interval.high)


def summary_table(scores, split, reference="measured", scale="common", confidence=0.95):
    """The paper's table layout for one split, reference and scale: rows PSNR and SSIM, a column per model.

    A third row, the frame (:func:`frame`), where the scores have one: on the common scale.

    Returns
    -------
    pandas.DataFrame
        Long form: metric, model, label, mean, ci_low, ci_high, n.
    """
    subset = scores[(scores["split"] == split) & (scores["reference"] == reference) & (scores["scale"] == scale)]
    rows = []
    present = [m for m in MODEL_LABELS if m in set(subset["model"])]
    extra = sorted(set(subset["model"]) - set(MODEL_LABELS))
    for metric, label in TABLE_METRICS.items():
        if metric not in subset:
            continue  # scores made without the bicubic maps have no frame
        for model in present + extra:
            values = subset.loc[subset["model"] == model, metric].dropna()
            if not len(values):
                continue  # no frame on the minmax scale, nor for the ceiling
            mean, low, high = mean_with_interval(values, confidence)
            rows.append(
                {
                    "metric": label,
                    "model": model,
                    "label": MODEL_LABELS.get(model, model),
                    "mean": mean,
                    "ci_low": low,
                    "ci_high": high,
                    "n": len(values),
                }
            )
    return pd.DataFrame(rows)


def paper_layout(summary):
    """Rows (reference, scale, metric, statistic), one column per model in the paper's order.

    ``statistic`` is mean, ci_low, ci_high or n.
    """
    long = summary.melt(
        id_vars=["reference", "scale", "metric", "label"],
        value_vars=["mean", "ci_low", "ci_high", "n"],
        var_name="statistic",
    )
    wide = long.pivot_table(
        index=["reference", "scale", "metric", "statistic"], columns="label", values="value", sort=False
    )
    return wide[list(dict.fromkeys(summary["label"]))]


def table_markdown(summary, title):
    """Render a :func:`summary_table` as a Markdown table, metrics as rows."""
    models = list(dict.fromkeys(summary["label"]))
    lines = [f"### {title}", "", "| | " + " | ".join(models) + " |", "|---" * (len(models) + 1) + "|"]
    for metric, group in summary.groupby("metric", sort=False):
        digits = 2 if metric.startswith("PSNR") else 3
        cells = [
            f"{r.mean:.{digits}f} [{r.ci_low:.{digits}f}, {r.ci_high:.{digits}f}]" if r.n else "-"
            for r in group.set_index("label").reindex(models).fillna({"n": 0}).itertuples()
        ]
        lines.append(f"| {metric} | " + " | ".join(cells) + " |")
    n = int(summary["n"].max()) if len(summary) else 0
    lines += ["", f"Mean over {n} images, with a 95 % bootstrap interval."]
    return "\n".join(lines) + "\n"


def evaluate_model_file(model_name, checkpoint_path, pairs_path, split_path, out_path):
    """The ``evaluate`` stage: one model's per-image scores as CSV, one row per map (and reference, scale)
    for a joint model as for the others (:func:`ramansr.inference.super_resolve_pairs`), with its frame
    against bicubic interpolation of the same maps."""
    # deferred: the summary and table stages import this module and need no torch
    from ramansr.checkpoint import checkpoint_factor
    from ramansr.inference import super_resolve, super_resolve_pairs
    from ramansr.models import build

    pairs = load_npz(pairs_path)
    if checkpoint_factor(checkpoint_path) != int(pairs["factor"]):
        raise ValueError(
            f"{checkpoint_path} was trained for SR factor {checkpoint_factor(checkpoint_path)}, "
            f"but the pairs of {pairs_path} are at factor {int(pairs['factor'])}"
        )
    table = pd.read_csv(split_path, dtype={"sample": str, "area": str})
    upscaled = super_resolve_pairs(checkpoint_path, pairs["lowres"], table)
    bicubic = super_resolve(build("bicubic", scaling_factor=int(pairs["factor"])), pairs["lowres"])
    scores = score_predictions(model_name, upscaled, pairs, table, bicubic=bicubic)
    write_csv(scores, out_path)


def write_tables(metric_paths, pairs_path, split_path, outputs):
    """The ``tables`` stage: the paper's train and test tables, and every per-image score.

    ``outputs`` maps train, test, train_md, test_md, per_image to paths.
    One table per reference and scale (common first: it sees intensity
    errors; minmax is the paper's). On simulated data the tables add the
    scores against the clean truth and the ceiling (the measured HR map
    against the clean one).
    """
    scores = pd.concat([pd.read_csv(p, dtype={"sample": str, "area": str}) for p in metric_paths], ignore_index=True)
    pairs = load_npz(pairs_path)
    if "highres_clean" in pairs:
        table = pd.read_csv(split_path, dtype={"sample": str, "area": str})
        scores = pd.concat([scores, ceiling_scores(pairs, table)], ignore_index=True)
    write_csv(scores, outputs["per_image"])
    for split in ("train", "test"):
        parts, markdown = [], []
        for reference in sorted(set(scores["reference"]), key=["measured", "clean"].index):
            for scale in SCALES:
                summary = summary_table(scores, split, reference, scale)
                parts.append(summary.assign(split=split, reference=reference, scale=scale))
                markdown.append(
                    table_markdown(
                        summary,
                        f"{split.capitalize()} set, scored against the {reference} HR map, {SCALE_TITLES[scale]}",
                    )
                )
        markdown.append(PAPER_TABLES[split])
        write_csv(paper_layout(pd.concat(parts, ignore_index=True)), outputs[split], index=True)
        write_text("\n".join(markdown), outputs[f"{split}_md"])


SCALE_TITLES = {
    "common": "on the LR map's scale (sees intensity errors)",
    "minmax": "each map min-max normalised on its own (the paper's scores)",
}

PAPER_TABLES = {
    "train": """### For reference: the paper's Table I (train), measured on the paper's own (proprietary) data

| | Linear interpolation | SRCNN | RCAN | SRGAN | SRResNet |
|---|---|---|---|---|---|
| PSNR (dB) | 30.75 | 28.91 | 29.15 | 28.44 | 31.62 |
| SSIM | 0.92 | 0.91 | 0.90 | 0.91 | 0.93 |
""",
    "test": """### For reference: the paper's Table II (test), measured on the paper's own (proprietary) data

| | Linear interpolation | SRCNN | RCAN | SRGAN | SRResNet |
|---|---|---|---|---|---|
| PSNR (dB) | 27.25 | 25.82 | 25.73 | 26.34 | 28.93 |
| SSIM | 0.89 | 0.87 | 0.87 | 0.88 | 0.90 |
""",
}
