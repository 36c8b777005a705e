"""A calibrated per-pixel uncertainty for super-resolved maps, with no HR scan.

Two parts, each seeing errors that re-imaging the SR map at the LR scan's own
points cannot (that check only sees what the LR scan sees):

- an equivariant bootstrap (Tachella & Pereyra, "Equivariant Bootstrapping
  for Uncertainty Quantification in Imaging Inverse Problems", AISTATS 2024):
  the SR estimate ``x = f(y)`` is transformed by a random element ``g`` of a
  group the imaging treats alike everywhere (a quarter turn, a mirror, and a
  shift by a whole number of SR pixels, a sub-pixel shift of the LR sampling
  grid), imaged again with the run's own LR imaging model
  (:func:`ramansr.optics.reimage_lowres`), optionally with noise at the
  level measured on the LR map, super-resolved, and transformed back:
  ``x_b = T_g^-1 f(A T_g x + n_b)``. The draws' root mean square distance to
  ``x`` (:func:`spread`) is the model's error on a specimen like ``x``, bias
  included: each draw samples the estimate at LR points the scan never
  measured, so detail the model invents, shifts or blurs between the scan's
  points shows up, also where the map is flat (a biased region).
- the SR map's gradient magnitude (:func:`gradient_magnitude`): where the map
  has edges, the specimen has detail finer than the LR step that no model
  recovers whole; the bootstrap misses it, because ``x`` lacks that detail
  itself (alone, it sees about a third of the true RMS error on the default run).

:func:`calibrate` weighs the two on the validation pairs, areas the model
did not train on: the squared error against the measured HR map is fitted by a
non-negative combination of their squares (scipy's ``nnls``), scaled so that its
mean is the squared errors' mean, giving ``u``, the per-pixel RMS error; then
split-conformal prediction: ``score = |HR - SR| / u`` per pixel, ``q`` the
``ceil((n + 1) level)``-th smallest score, and ``SR +- q u`` covers the
measured HR map's pixels with probability ``level`` where the validation areas
are representative. ``benchmarks/bench_uncertainty.py`` measures the choices.

deepinv implements the same bootstrap, but for its own operator and model
classes; the run's imaging model is a numpy function and its models are called
through :func:`ramansr.inference.super_resolve`, so the few lines here need no
extra dependency.
"""

import sys

import numpy as np
import pandas as pd
from scipy import ndimage
from scipy.optimize import nnls
from scipy.stats import spearmanr

#: Each draw's transform: quarter turns, mirror, and a shift in SR pixels (rows, cols).
DIHEDRAL = [(turns, mirror) for turns in range(4) for mirror in (False, True)]

#: The parts of the uncertainty, in the order of :func:`uncertainty_parts`.
PARTS = ("bootstrap", "gradient")

# Immerkaer's mask: a difference of two Laplacians that cancels any plane; its output has 6x the noise's std
_NOISE_MASK = np.array([[1.0, -2.0, 1.0], [-2.0, 4.0, -2.0], [1.0, -2.0, 1.0]])


def noise_level(maps):
    """The white-noise standard deviation of each map, from its fine-scale residual.

    Immerkaer's estimator ("Fast noise variance estimation", 1996) with a
    median instead of a mean, so that a map's edges, which the mask does not
    cancel, count little: ``median |M * image| / (0.6745 * 6)``.

    Parameters
    ----------
    maps : ndarray, (k, h, w)

    Returns
    -------
    ndarray of float64, (k,)
    """
    maps = np.asarray(maps, dtype=np.float64)
    residual = np.stack([ndimage.convolve(image, _NOISE_MASK)[1:-1, 1:-1] for image in maps])
    return np.median(np.abs(residual), axis=(1, 2)) / (0.6745 * 6.0)


def transform(maps, turns, mirror, shift):
    """Rotate by ``turns`` quarter turns, mirror the columns, then shift by ``shift`` pixels (edges repeated).

    Parameters
    ----------
    maps : ndarray, (k, rows, cols)
    turns : int
    mirror : bool
    shift : (int, int)
        Rows and columns; positive moves the content down and right.

    Returns
    -------
    ndarray, (k, rows, cols), or (k, cols, rows) for an odd number of turns
    """
    moved = np.rot90(maps, turns, axes=(1, 2))
    if mirror:
        moved = moved[:, :, ::-1]
    return ndimage.shift(moved, (0, *shift), order=0, mode="nearest")


def untransform(maps, turns, mirror, shift):
    """The inverse of :func:`transform` (the pixels a shift pushed out come back as the edge's)."""
    moved = ndimage.shift(maps, (0, -shift[0], -shift[1]), order=0, mode="nearest")
    if mirror:
        moved = moved[:, :, ::-1]
    return np.rot90(moved, -turns, axes=(1, 2))


def group_elements(factor, count, seed=0):
    """``count`` distinct transforms (turns, mirror, shift), drawn at random from the group.

    The group has 8 orientations times ``factor ** 2`` shifts of less than one
    LR step (a whole LR step only moves the sampling grid onto itself); with
    ``count`` at least its size every element is used once.

    Returns
    -------
    list of (int, bool, (int, int))
    """
    elements = [(turns, mirror, (dy, dx)) for turns, mirror in DIHEDRAL for dy in range(factor) for dx in range(factor)]
    order = np.random.default_rng(seed).permutation(len(elements))[: min(count, len(elements))]
    return [elements[i] for i in order]


def bootstrap_draws(sr_maps, lowres_maps, super_resolve, imaging, draws=8, seed=0, noise_scale=0.0):
    """Equivariant-bootstrap draws of super-resolved maps.

    Parameters
    ----------
    sr_maps : ndarray, (k, factor h, factor w)
        The estimate ``f(y)``.
    lowres_maps : ndarray, (k, h, w)
        The LR maps ``y``: their noise level sets the draws' noise (:func:`noise_level`).
    super_resolve : callable
        LR maps (k, h', w') -> SR maps (k, factor h', factor w'): the model.
    imaging : callable
        SR maps -> LR maps: the run's LR imaging model, e.g.
        ``functools.partial(ramansr.optics.reimage_lowres, factor=4, lowres_step_um=2.0, ...)``.
    draws : int
    seed : int
    noise_scale : float
        The draws' noise over the level measured on the LR maps (:func:`noise_level`); 0, the
        default, adds none: the transforms' spread alone, which ranked the default run's test maps'
        errors best (the measured level reads the LR maps' aliased detail as noise too).

    Returns
    -------
    ndarray of float32, (draws, k, factor h, factor w)
    """
    sr_maps = np.asarray(sr_maps, dtype=np.float32)
    factor = sr_maps.shape[-1] // np.shape(lowres_maps)[-1]
    sigma = noise_scale * noise_level(lowres_maps)[:, None, None]
    rng = np.random.default_rng(seed)
    result = []
    for turns, mirror, shift in group_elements(factor, draws, seed):
        reimaged = imaging(transform(sr_maps, turns, mirror, shift))
        noisy = reimaged + sigma * rng.standard_normal(reimaged.shape)
        result.append(untransform(super_resolve(noisy.astype(np.float32)), turns, mirror, shift))
    return np.stack(result).astype(np.float32)


def spread(sr_maps, draws):
    """Root mean square distance of the draws to the estimate, per pixel.

    Parameters
    ----------
    sr_maps : ndarray, (k, H, W)
    draws : ndarray, (n, k, H, W)

    Returns
    -------
    ndarray of float32, (k, H, W)
    """
    return np.sqrt(np.mean((np.asarray(draws) - np.asarray(sr_maps)[None]) ** 2, axis=0)).astype(np.float32)


def gradient_magnitude(maps):
    """The gradient magnitude of each map, per pixel (Sobel, in the maps' units per pixel).

    Parameters
    ----------
    maps : ndarray, (k, H, W)

    Returns
    -------
    ndarray of float32, (k, H, W)
    """
    maps = np.asarray(maps, dtype=np.float64)
    # Sobel's derivative is 8x the central difference's, over two pixels
    return np.stack([np.hypot(ndimage.sobel(m, axis=0), ndimage.sobel(m, axis=1)) / 8.0 for m in maps]).astype(
        np.float32
    )


def uncertainty_parts(sr_maps, lowres_maps, super_resolve, imaging, draws=8, seed=0, noise_scale=0.0):
    """The raw parts of the uncertainty: the bootstrap's spread and the gradient magnitude.

    Parameters
    ----------
    sr_maps, lowres_maps, super_resolve, imaging, draws, seed, noise_scale
        See :func:`bootstrap_draws`.

    Returns
    -------
    ndarray of float32, (2, k, factor h, factor w)
        In the order of ``PARTS``.
    """
    draws = bootstrap_draws(sr_maps, lowres_maps, super_resolve, imaging, draws, seed, noise_scale)
    return np.stack([spread(sr_maps, draws), gradient_magnitude(sr_maps)])


def conformal_quantile(scores, level=0.9):
    """The split-conformal quantile of nonconformity scores: the ``ceil((n + 1) level)``-th smallest.

    Parameters
    ----------
    scores : array-like
        One score per calibration pixel.
    level : float
        Nominal coverage, in (0, 1).

    Returns
    -------
    float
        ``inf`` when ``n`` is too small for the level.
    """
    scores = np.sort(np.ravel(scores))
    rank = int(np.ceil((scores.size + 1) * level))
    return float(scores[rank - 1]) if rank <= scores.size else float("inf")


def combine(parts, calibration):
    """The per-pixel RMS error: ``sqrt(sum_i weight_i part_i^2)``.

    Parameters
    ----------
    parts : ndarray, (len(PARTS), ...)
        Of :func:`uncertainty_parts`.
    calibration : dict
        Of :func:`calibrate`.

    Returns
    -------
    ndarray of float32, ``parts[0]``'s shape
    """
    weights = np.array([calibration["weights"][name] for name in PARTS])
    squares = np.asarray(parts, dtype=np.float64) ** 2
    return np.sqrt(np.tensordot(weights, squares, axes=1)).astype(np.float32)


def calibrate(sr_maps, parts, reference, level=0.9):
    """Weigh the uncertainty's parts and scale its interval on calibration areas' measured HR maps.

    Parameters
    ----------
    sr_maps, reference : ndarray, same shape
        The SR maps and the measured HR maps (on the SR maps' scale), over the
        pixels to calibrate on (the HR windows of the validation pairs).
    parts : ndarray, (len(PARTS), *sr_maps.shape)
        Their raw parts (:func:`uncertainty_parts`).
    level : float
        Nominal coverage of the intervals.

    Returns
    -------
    dict
        ``level``; ``weights``, part -> weight (the non-negative least-squares
        fit of the squared errors by the parts' squares, scaled so that the
        combination's mean square is the errors'); ``quantile``, the conformal
        ``q`` of ``|reference - sr| / u`` (interval ``sr +- q u``); ``pixels``.

    Raises
    ------
    ValueError
        With no pixel to calibrate on, or parts that are zero wherever the error is not.
    """
    sr_maps, reference = np.asarray(sr_maps, dtype=np.float64), np.asarray(reference, dtype=np.float64)
    if not sr_maps.size:
        raise ValueError("no pixels to calibrate the uncertainty on (the run has no val pairs)")
    squared_error = ((reference - sr_maps) ** 2).ravel()
    squares = np.reshape(np.asarray(parts, dtype=np.float64) ** 2, (len(PARTS), -1))
    weights, _ = nnls(squares.T, squared_error)
    fitted = weights @ squares
    if not fitted.sum() > 0:
        raise ValueError("the uncertainty's parts are zero on every calibration pixel: nothing to scale")
    weights *= squared_error.sum() / fitted.sum()
    calibration = {"level": float(level), "weights": dict(zip(PARTS, map(float, weights), strict=True))}
    u = np.maximum(combine(np.reshape(parts, (len(PARTS), -1)), calibration), np.finfo(np.float32).tiny)
    return {
        **calibration,
        "quantile": conformal_quantile(np.sqrt(squared_error) / u, level),
        "pixels": int(sr_maps.size),
    }


def predicted_rmse(uncertainty):
    """The RMSE a map's uncertainty predicts: the root mean square of ``u`` over the map.

    Parameters
    ----------
    uncertainty : ndarray, (..., H, W)
        The per-pixel RMS error (:func:`combine`) of one map or a stack.

    Returns
    -------
    float or ndarray, one per map
    """
    return np.sqrt(np.mean(np.asarray(uncertainty, dtype=np.float64) ** 2, axis=(-2, -1)))


def map_uncertainty(sr_maps, lowres_maps, super_resolve, imaging, calibration, seed=0):
    """The calibrated uncertainty of super-resolved maps and their interval: one call for a prediction.

    Parameters
    ----------
    sr_maps : ndarray, (k, factor h, factor w)
        The model's output for ``lowres_maps``.
    lowres_maps : ndarray, (k, h, w)
    super_resolve, imaging : callable
        See :func:`bootstrap_draws`.
    calibration : dict
        The model's ``calibration.json`` (:func:`calibrate_model_file`): its weights and quantile,
        and the ``draws`` and ``noise_scale`` it was made with.
    seed : int

    Returns
    -------
    uncertainty : ndarray of float32, (k, factor h, factor w)
        The per-pixel RMS error in the maps' units; its root mean square over a map is the map's
        predicted RMSE (:func:`predicted_rmse`).
    lower, upper : ndarray of float32, (k, factor h, factor w)
        ``sr_maps -+ quantile * uncertainty``: the ``calibration["level"]`` interval.
    """
    parts = uncertainty_parts(
        sr_maps, lowres_maps, super_resolve, imaging, calibration["draws"], seed, calibration["noise_scale"]
    )
    uncertainty = combine(parts, calibration)
    half_width = calibration["quantile"] * uncertainty
    return uncertainty, (sr_maps - half_width).astype(np.float32), (sr_maps + half_width).astype(np.float32)


def window_region(lowres_map, position, window, factor, margin):
    """The LR region under an HR window plus ``margin`` LR pixels, and the window's corner in its SR map.

    Scoring an uncertainty needs it on the window only; the networks' and the
    PSF's reach is a few LR pixels, so the region's SR map and its draws match
    the whole map's there, at a fraction of the cost.

    Parameters
    ----------
    lowres_map : ndarray, (h, w)
    position : (X, Y)
        The window's corner in the upscaled LR grid (``pairs.npz``'s ``position``).
    window : (int, int)
        The window's shape (HR pixels).
    factor, margin : int

    Returns
    -------
    region : ndarray, (h', w')
    corner : (int, int)
        (X, Y) of the window in the region's SR map.
    """
    x, y = (round(float(v)) for v in position)
    rows, cols = np.shape(lowres_map)
    r0, c0 = max(y // factor - margin, 0), max(x // factor - margin, 0)
    r1 = min(-(-(y + window[0]) // factor) + margin, rows)
    c1 = min(-(-(x + window[1]) // factor) + margin, cols)
    return np.asarray(lowres_map)[r0:r1, c0:c1], (x - factor * c0, y - factor * r0)


def window_parts(pairs, indices, super_resolve, imaging, draws=8, noise_scale=0.0, margin=12, seed=0):
    """SR maps and the uncertainty's parts (:func:`uncertainty_parts`) of pairs, on their HR windows.

    Parameters
    ----------
    pairs : mapping
        ``pairs.npz``'s contents (``lowres``, ``highres``, ``position``, ``factor``).
    indices : sequence of int
        The pairs to do.
    super_resolve, imaging : callable
        See :func:`bootstrap_draws`.
    draws : int
    noise_scale : float
    margin, seed : int
        ``margin``: of :func:`window_region`; pair ``i`` draws with seed ``seed + i``.

    Returns
    -------
    sr : ndarray of float32, (len(indices), H, W)
    parts : ndarray of float32, (len(PARTS), len(indices), H, W)
    """
    from ramansr.metrics import crop_window

    factor = int(pairs["factor"])
    window = pairs["highres"].shape[1:]
    sr_windows, part_windows = [], []
    for i in indices:
        region, corner = window_region(pairs["lowres"][i], pairs["position"][i], window, factor, margin)
        sr = super_resolve(region[None])
        parts = uncertainty_parts(sr, region[None], super_resolve, imaging, draws, seed + int(i), noise_scale)
        sr_windows.append(crop_window(sr[0], corner, window))
        part_windows.append([crop_window(part[0], corner, window) for part in parts])
    if not sr_windows:
        return np.empty((0, *window), np.float32), np.empty((len(PARTS), 0, *window), np.float32)
    return np.stack(sr_windows), np.stack(part_windows, axis=1)


def map_scores(sr, uncertainty, reference, calibration):
    """Per map: the predicted RMSE, the true RMSE against the reference, and the interval's coverage.

    Parameters
    ----------
    sr, uncertainty, reference : ndarray, (n, H, W)
        ``uncertainty``: :func:`combine`'s.
    calibration : dict
        Of :func:`calibrate`.

    Returns
    -------
    dict of ndarray, (n,)
        ``predicted_rmse``, ``true_rmse``, ``coverage``.
    """
    error = np.asarray(reference, dtype=np.float64) - sr
    return {
        "predicted_rmse": predicted_rmse(uncertainty),
        "true_rmse": np.sqrt(np.mean(error**2, axis=(1, 2))),
        "coverage": np.mean(np.abs(error) <= calibration["quantile"] * uncertainty, axis=(1, 2)),
    }


def calibrate_model_file(model_name, checkpoint_path, pairs_path, split_path, settings, outputs, **imaging):
    """The ``uncertainty`` stage: one model's calibration on the val pairs, and its scores on the test pairs.

    Parameters
    ----------
    model_name : str
    checkpoint_path, pairs_path, split_path : path-like
        ``best.pt``, ``pairs.npz`` and ``split.csv``.
    settings : dict
        The config's ``uncertainty:`` (``level``, ``draws``, ``noise_scale``).
    outputs : dict
        ``calibration``: the JSON of :func:`calibrate`, with ``draws`` and ``noise_scale`` (what
        :func:`map_uncertainty` needs); ``scores``: a CSV, one row per test map (model, pair_id,
        sample, area, component, predicted_rmse, true_rmse, coverage). Without val pairs (a
        cross-validation fold with a single other area) the calibration has no weights and
        quantile (None, 0 pixels) and the scores' predicted_rmse and coverage are NaN.
    **imaging
        ``lowres_na`` and ``excitation_nm`` of the LR objective (absent: ramansr.optics' defaults);
        the LR step is the pairs'.
    """
    import functools

    from ramansr.inference import load_model, super_resolve
    from ramansr.io_utils import load_npz, write_csv, write_json
    from ramansr.optics import DEFAULT_EXCITATION_NM, DEFAULT_LOWRES_NA, reimage_lowres

    pairs = load_npz(pairs_path)
    table = pd.read_csv(split_path, dtype={"sample": str, "area": str})
    reimage = functools.partial(
        reimage_lowres,
        factor=int(pairs["factor"]),
        lowres_step_um=float(pairs["lowres_step_um"][0]),
        na=imaging.get("lowres_na", DEFAULT_LOWRES_NA),
        wavelength_um=imaging.get("excitation_nm", DEFAULT_EXCITATION_NM) / 1e3,
    )
    model_sr = functools.partial(super_resolve, load_model(checkpoint_path))
    bootstrap = {"draws": settings["draws"], "noise_scale": settings["noise_scale"]}
    windows = {}
    for split in ("val", "test"):
        indices = np.flatnonzero((table["split"] == split).to_numpy())
        windows[split] = (indices, *window_parts(pairs, indices, model_sr, reimage, **bootstrap))
    indices, sr, parts = windows["val"]
    if len(indices):
        calibration = {**calibrate(sr, parts, pairs["highres"][indices], settings["level"]), **bootstrap}
    else:
        # a cross-validation fold whose other samples have a single area between them has no val pairs
        print(f"{model_name}: no val pairs to calibrate the uncertainty on: its test scores are NaN", file=sys.stderr)
        calibration = {"level": settings["level"], "weights": None, "quantile": None, "pixels": 0, **bootstrap}
    write_json(calibration, outputs["calibration"])
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
