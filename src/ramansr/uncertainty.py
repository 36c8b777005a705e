"""A calibrated per-pixel uncertainty for super-resolved maps, with no HR scan.

Equivariant bootstrap (Tachella & Pereyra, "Equivariant Bootstrapping for
Uncertainty Quantification in Imaging Inverse Problems", AISTATS 2024): the SR
estimate ``x = f(y)`` is transformed by a random element ``g`` of a group the
imaging treats alike everywhere (a rotation by a multiple of 90 degrees, a
mirror, and a shift by a whole number of SR pixels, that is a sub-pixel shift
of the LR sampling grid), imaged again with the run's own LR imaging model
(:func:`ramansr.consistency.reimage_lowres`) plus noise at the level measured
on the LR map, super-resolved, and transformed back:
``x_b = T_g^-1 f(A T_g x + n_b)``. The draws' root mean square distance to
``x`` estimates the error of ``x`` pixel by pixel, bias included. The shifts
are what let it see what the LR scan cannot: each draw samples the estimate at
LR points the scan never measured, so detail the model invents or blurs
between the scan's points moves with the grid and shows up as spread.

The raw spread is then scaled to the HR scan by split-conformal prediction
(:func:`calibrate`) on the validation pairs, areas the model did not train
on: ``score = |HR - SR| / u`` per pixel, ``q`` the ``ceil((n + 1) level) / n``
quantile of the scores, and ``SR +- q u`` covers the measured HR map's pixels
with probability ``level`` where the validation areas are representative.

deepinv implements the same bootstrap, but for its own operator and model
classes; the run's imaging model is a numpy function and its models are called
through :func:`ramansr.inference.super_resolve`, so the few lines here need no
extra dependency.
"""

import numpy as np
from scipy import ndimage

#: Each draw's transform: quarter turns, mirror, and a shift in SR pixels (rows, cols).
DIHEDRAL = [(turns, mirror) for turns in range(4) for mirror in (False, True)]

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


def bootstrap_draws(sr_maps, lowres_maps, super_resolve, imaging, draws=16, seed=0, noise_scale=1.0):
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
        ``functools.partial(ramansr.consistency.reimage_lowres, factor=4, lowres_step_um=2.0, ...)``.
    draws : int
    seed : int
    noise_scale : float
        The draws' noise over the level measured on the LR maps (0: none, the transforms' spread alone).

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


def calibrate(sr_maps, uncertainty, reference, level=0.9):
    """Scale a raw uncertainty to the measured HR maps of calibration areas.

    Parameters
    ----------
    sr_maps, uncertainty, reference : ndarray, same shape
        The SR maps, their raw uncertainty and the measured HR maps (on the
        SR maps' scale), over the pixels to calibrate on (the HR windows of
        the validation pairs), flattened or not.
    level : float
        Nominal coverage of the intervals.

    Returns
    -------
    dict
        ``level``; ``quantile``, the conformal ``q`` of ``|reference - sr| / uncertainty``
        (interval ``sr +- q u``); ``rmse_scale``, the factor that turns the
        root mean square of ``u`` over a map into its predicted RMSE
        (``sqrt(sum e^2 / sum u^2)`` over the calibration pixels); ``pixels``.
    """
    sr_maps, uncertainty, reference = (np.asarray(a, dtype=np.float64) for a in (sr_maps, uncertainty, reference))
    error = np.abs(reference - sr_maps)
    floor = np.finfo(np.float32).tiny
    return {
        "level": float(level),
        "quantile": conformal_quantile(error / np.maximum(uncertainty, floor), level),
        "rmse_scale": float(np.sqrt(np.sum(error**2) / max(np.sum(uncertainty**2), floor))),
        "pixels": int(error.size),
    }


def predicted_rmse(uncertainty, calibration):
    """The RMSE a map's uncertainty predicts: ``rmse_scale`` times the root mean square of ``u``.

    Parameters
    ----------
    uncertainty : ndarray, (..., H, W)
        Raw uncertainty of one map or a stack.
    calibration : dict
        Of :func:`calibrate`.

    Returns
    -------
    float or ndarray, one per map
    """
    uncertainty = np.asarray(uncertainty, dtype=np.float64)
    return calibration["rmse_scale"] * np.sqrt(np.mean(uncertainty**2, axis=(-2, -1)))


def map_uncertainty(sr_maps, lowres_maps, super_resolve, imaging, calibration, draws=16, seed=0):
    """The calibrated uncertainty of super-resolved maps and their interval: one call for a prediction.

    Parameters
    ----------
    sr_maps : ndarray, (k, factor h, factor w)
        The model's output for ``lowres_maps``.
    lowres_maps : ndarray, (k, h, w)
    super_resolve, imaging : callable
        See :func:`bootstrap_draws`.
    calibration : dict
        Of :func:`calibrate` (the model's ``calibration.json``).
    draws : int
    seed : int

    Returns
    -------
    uncertainty : ndarray of float32, (k, factor h, factor w)
        The per-pixel error estimate in the maps' units: ``rmse_scale`` times the draws' spread
        (its root mean square over a map is the map's predicted RMSE, :func:`predicted_rmse`).
    lower, upper : ndarray of float32, (k, factor h, factor w)
        ``sr_maps -+ quantile * spread``: the ``calibration["level"]`` interval.
    """
    raw = spread(sr_maps, bootstrap_draws(sr_maps, lowres_maps, super_resolve, imaging, draws, seed))
    half_width = calibration["quantile"] * raw
    return (
        (calibration["rmse_scale"] * raw).astype(np.float32),
        (sr_maps - half_width).astype(np.float32),
        (sr_maps + half_width).astype(np.float32),
    )
