"""The uncertainty's calibration: its parts weighed and its interval scaled on measured HR maps (split-conformal)."""

import numpy as np
from scipy.optimize import nnls

from ramansr.uncertainty.bootstrap import PARTS, noise_level, uncertainty_parts


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
    """The per-pixel RMS error: ``sqrt(sum_i weight_i part_i^2 + noise_variance)``.

    Parameters
    ----------
    parts : ndarray, (len(PARTS), ...)
        Of :func:`~ramansr.uncertainty.bootstrap.uncertainty_parts`.
    calibration : dict
        Of :func:`calibrate` (one made before ``noise_variance`` was recorded had none: 0).

    Returns
    -------
    ndarray of float32, ``parts[0]``'s shape
    """
    weights = np.array([calibration["weights"][name] for name in PARTS])
    squares = np.asarray(parts, dtype=np.float64) ** 2
    variance = np.tensordot(weights, squares, axes=1) + calibration.get("noise_variance", 0.0)
    return np.sqrt(variance).astype(np.float32)


def calibrate(sr_maps, parts, reference, level=0.9, noise_variance=0.0):
    """Weigh the uncertainty's parts and scale its interval on calibration areas' measured HR maps.

    The interval is for a measured HR map: the SR map's error plus the HR scan's own noise, whose
    variance is given, not fitted. Without it the intervals of flat regions, where the parts are
    near zero, miss the noise, and the fitted weights make up for it on the specimens the val areas
    show: on the default run's leave-one-sample-out folds SRCNN's coverage then ran from 0.83 (coarse
    domains) to 0.95 (fine), with it from 0.85 to 0.92.

    Parameters
    ----------
    sr_maps, reference : ndarray, same shape
        The SR maps and the measured HR maps (on the SR maps' scale), over the
        pixels to calibrate on (the HR windows of the calibration pairs).
    parts : ndarray, (len(PARTS), *sr_maps.shape)
        Their raw parts (:func:`~ramansr.uncertainty.bootstrap.uncertainty_parts`).
    level : float
        Nominal coverage of the intervals.
    noise_variance : float
        The measured HR maps' white-noise variance (:func:`hr_noise_variance`).

    Returns
    -------
    dict
        ``level``; ``weights``, part -> weight (the non-negative least-squares
        fit of the squared errors less the noise variance by the parts' squares,
        scaled so that with the noise the combination's mean square is the errors');
        ``noise_variance``; ``quantile``, the conformal ``q`` of ``|reference - sr| / u``
        (interval ``sr +- q u``); ``pixels``.

    Raises
    ------
    ValueError
        With no pixel to calibrate on, or no noise and parts that are zero wherever the error is not.
    """
    sr_maps, reference = np.asarray(sr_maps, dtype=np.float64), np.asarray(reference, dtype=np.float64)
    if not sr_maps.size:
        raise ValueError("no pixels to calibrate the uncertainty on (no pairs in the calibration splits)")
    squared_error = ((reference - sr_maps) ** 2).ravel()
    squares = np.reshape(np.asarray(parts, dtype=np.float64) ** 2, (len(PARTS), -1))
    weights, _ = nnls(squares.T, squared_error - noise_variance)
    fitted = weights @ squares
    beyond_noise = squared_error.sum() - noise_variance * squared_error.size
    if fitted.sum() > 0 and beyond_noise > 0:
        weights *= beyond_noise / fitted.sum()
    elif not noise_variance > 0:
        raise ValueError("the uncertainty's parts are zero on every calibration pixel: nothing to scale")
    calibration = {
        "level": float(level),
        "weights": dict(zip(PARTS, map(float, weights), strict=True)),
        "noise_variance": float(noise_variance),
    }
    u = np.maximum(combine(np.reshape(parts, (len(PARTS), -1)), calibration), np.finfo(np.float32).tiny)
    return {
        **calibration,
        "quantile": conformal_quantile(np.sqrt(squared_error) / u, level),
        "pixels": int(sr_maps.size),
    }


def hr_noise_variance(highres_maps):
    """The white-noise variance of measured HR maps: the median over the maps of :func:`noise_level`, squared.

    Parameters
    ----------
    highres_maps : ndarray, (k, H, W)

    Returns
    -------
    float
    """
    return float(np.median(noise_level(highres_maps)) ** 2)


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
        See :func:`~ramansr.uncertainty.bootstrap.bootstrap_draws`.
    calibration : dict
        The model's ``calibration.json`` (:func:`~ramansr.uncertainty.stages.calibrate_model_file`): its
        weights and quantile, and the ``draws`` and ``noise_scale`` it was made with.
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
