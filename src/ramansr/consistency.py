"""Checks of a prediction that need no HR scan (LR consistency) and of its spectra (spectral fidelity).

LR consistency: a super-resolved map, imaged again by the LR acquisition (the
LR objective's PSF, then point sampling at the LR step), should give back the
measured LR map. It is the one check a user can run on an LR-only scan.

Grid convention (:mod:`ramansr.register`): SR pixel ``j`` sits at LR point
``(j + 0.5) / factor - 0.5``, so LR point ``p`` is SR pixel
``factor * p + (factor - 1) / 2``, between two pixels for an even factor.

Spectral fidelity: a rebuilt HR cube against the measured HR scan at every
channel (PSNR per channel) and per spectrum (spectral angle).
"""

import numpy as np
from scipy import ndimage
from scipy.optimize import linear_sum_assignment
from skimage.metrics import peak_signal_noise_ratio

from ramansr.convention import calibrate_to_lowres
from ramansr.metrics import DATA_RANGE, crop_window, score
from ramansr.optics import DEFAULT_EXCITATION_NM, DEFAULT_LOWRES_NA
from ramansr.register import upscale
from ramansr.simulate.acquisition import airy_otf, blur

#: A prediction is flagged when a map's consistency is this many dB below the test areas' lowest.
DEFAULT_MARGIN_DB = 3.0


def reimage_lowres(
    sr_maps, factor, lowres_step_um=None, na=DEFAULT_LOWRES_NA, wavelength_um=DEFAULT_EXCITATION_NM / 1e3
):
    """Image super-resolved maps as the LR scan would: blur with the LR PSF, sample at the LR points.

    The PSF is the incoherent Airy PSF of the LR objective
    (:func:`ramansr.simulate.acquisition.airy_otf`, the simulator's own), on
    the SR grid (step ``lowres_step_um / factor``), with the maps mirrored at
    their edges so that the FFT's wrap-around does not mix opposite borders.
    An SR map estimates the HR scan, which already carries the HR objective's
    (narrower) blur; the re-imaged map therefore has both blurs, a small
    excess when the HR objective's NA is well above the LR one's.

    Parameters
    ----------
    sr_maps : ndarray, (k, factor h, factor w)
    factor : int
        The SR factor.
    lowres_step_um : float or None
        The LR step; None (a scan without pixel size) skips the blur: point sampling only.
    na : float
        Numerical aperture of the LR objective.
    wavelength_um : float
        Excitation wavelength.

    Returns
    -------
    ndarray of float32, (k, h, w)
        The maps at the LR points (cubic spline where a point falls between SR pixels).
    """
    sr_maps = np.asarray(sr_maps, dtype=np.float64)
    rows, cols = sr_maps.shape[1:]
    if rows % factor or cols % factor:
        raise ValueError(f"SR maps of {rows} x {cols} pixels are not a whole number of {factor}x LR points")
    blurred = sr_maps
    if lowres_step_um is not None:
        step = lowres_step_um / factor
        # the Airy PSF is negligible beyond 2 lambda / NA (its fourth dark ring)
        pad = min(int(np.ceil(2.0 * wavelength_um / na / step)), rows - 1, cols - 1)
        padded = np.pad(sr_maps, ((0, 0), (pad, pad), (pad, pad)), mode="reflect")
        otf = airy_otf(padded.shape[1:], step, wavelength_um, na)
        blurred = blur(padded, otf)[:, pad : pad + rows, pad : pad + cols]
    lr_rows = factor * np.arange(rows // factor) + (factor - 1) / 2
    lr_cols = factor * np.arange(cols // factor) + (factor - 1) / 2
    grid = np.meshgrid(lr_rows, lr_cols, indexing="ij")
    sampled = [ndimage.map_coordinates(image, grid, order=3, mode="nearest") for image in blurred]
    return np.stack(sampled).astype(np.float32)


def lowres_consistency(sr_maps, lowres_maps, factor, **imaging):
    """How well each re-imaged SR map reproduces its measured LR map.

    Parameters
    ----------
    sr_maps : ndarray, (k, factor h, factor w)
    lowres_maps : ndarray, (k, h, w)
        On the same scale as ``sr_maps`` (both normalised with the LR map's (low, high)).
    factor : int
    **imaging
        ``lowres_step_um``, ``na``, ``wavelength_um`` of :func:`reimage_lowres`.

    Returns
    -------
    psnr : ndarray of float64, (k,)
        PSNR (dB) of the re-imaged SR map against the LR map, data_range
        ``ramansr.metrics.DATA_RANGE`` (1: SR and LR maps are both normalised
        with the LR map's (low, high)).
    residual : ndarray of float32, (k, h, w)
        Re-imaged SR map minus LR map.
    """
    lowres_maps = np.asarray(lowres_maps, dtype=np.float64)
    reimaged = reimage_lowres(sr_maps, factor, **imaging)
    if reimaged.shape != lowres_maps.shape:
        raise ValueError(f"SR maps re-imaged to {reimaged.shape}, but the LR maps are {lowres_maps.shape}")
    psnr = np.array(
        [peak_signal_noise_ratio(lr, sr, data_range=DATA_RANGE) for lr, sr in zip(lowres_maps, reimaged, strict=True)]
    )
    return psnr, (reimaged - lowres_maps).astype(np.float32)


def far_below(consistency, reference, margin_db=DEFAULT_MARGIN_DB):
    """Which consistencies lie far below a reference set (the test areas').

    "Far below" means under the reference's minimum minus ``margin_db``: the
    test areas show the spread that predictions of a working model have, and
    the margin keeps a prediction just outside that small sample's range from
    being flagged.

    Parameters
    ----------
    consistency : array-like of float
        PSNR (dB) values to judge.
    reference : array-like of float
        The test areas' PSNR (dB) values; empty: nothing is flagged.
    margin_db : float

    Returns
    -------
    ndarray of bool, ``consistency``'s shape
    """
    consistency, reference = np.asarray(consistency, dtype=float), np.asarray(reference, dtype=float)
    if reference.size == 0:
        return np.zeros(consistency.shape, dtype=bool)
    return consistency < reference.min() - margin_db


def channel_psnr(prediction, reference, data_range):
    """PSNR (dB) at every channel of two cubes (skimage's, one channel at a time).

    Parameters
    ----------
    prediction, reference : ndarray, (rows, cols, channels)
    data_range : array-like, (channels,)
        Each channel's data range (positive).

    Returns
    -------
    ndarray of float64, (channels,)
    """
    prediction, reference = np.asarray(prediction, dtype=np.float64), np.asarray(reference, dtype=np.float64)
    if prediction.shape != reference.shape:
        raise ValueError(f"cubes of different shapes: {prediction.shape} and {reference.shape}")
    data_range = np.broadcast_to(np.asarray(data_range, dtype=float), prediction.shape[-1:])
    return np.array(
        [
            peak_signal_noise_ratio(reference[..., c], prediction[..., c], data_range=data_range[c])
            for c in range(prediction.shape[-1])
        ]
    )


def spectral_angle(prediction, reference):
    """Angle (degrees) between the two cubes' spectra at every pixel.

    Blind to a spectrum's scale (the objectives' collection), not to an offset.
    A zero spectrum on either side has no direction: its angle is NaN.

    Parameters
    ----------
    prediction, reference : ndarray, (..., channels)

    Returns
    -------
    ndarray of float64, the cubes' shape without the channel axis
    """
    prediction, reference = np.asarray(prediction, dtype=np.float64), np.asarray(reference, dtype=np.float64)
    norms = np.linalg.norm(prediction, axis=-1) * np.linalg.norm(reference, axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        cosine = np.sum(prediction * reference, axis=-1) / norms
    return np.degrees(np.arccos(np.clip(cosine, -1.0, 1.0)))


def spectral_fidelity(predicted, lowres, measured, position, factor):
    """A rebuilt HR cube, and linear interpolation of the LR cube, against the measured HR cube at every channel.

    Each channel is scored on the LR scan's scale, as the CH-band check's
    ``common`` scale: the measured HR channel image is brought to the LR
    units (:func:`ramansr.convention.calibrate_to_lowres` against the LR channel
    image, gain and offset) and the data range is the LR channel image's
    (max - min). The spectral angle compares the spectra as measured (blind to
    the objectives' different collection), at every pixel of the window.

    Parameters
    ----------
    predicted : ndarray, (factor h, factor w, channels)
        The rebuilt cube, in the LR scan's units, on the upscaled LR grid.
    lowres : ndarray, (h, w, channels)
        The LR scan.
    measured : ndarray, (H, W, channels)
        The HR scan, on the same channels.
    position : (X, Y)
        The registered window's corner in the upscaled LR grid.
    factor : int

    Returns
    -------
    dict
        ``channel_psnr``: {model, linear} -> list of PSNR (dB) per channel;
        ``spectral_angle_deg``: {model, linear} -> mean angle over the window's pixels.
    """
    window = measured.shape[:2]
    channels = measured.shape[2]
    model = np.stack([crop_window(predicted[..., c], position, window) for c in range(channels)], axis=-1)
    linear = np.stack(
        [crop_window(upscale(lowres[..., c], factor), position, window) for c in range(channels)], axis=-1
    )
    calibrated = np.empty(measured.shape, dtype=np.float64)
    for c in range(channels):
        gain, offset = calibrate_to_lowres(lowres[..., c], measured[..., c], position, factor)
        calibrated[..., c] = gain * measured[..., c] + offset
    # a channel without contrast in the LR scan has no range to score on
    data_range = np.maximum(np.ptp(lowres.reshape(-1, channels), axis=0), np.finfo(np.float32).eps)
    return {
        "channel_psnr": {
            name: [float(v) for v in channel_psnr(cube, calibrated, data_range)]
            for name, cube in (("model", model), ("linear", linear))
        },
        "spectral_angle_deg": {
            name: float(np.nanmean(spectral_angle(cube, measured)))
            for name, cube in (("model", model), ("linear", linear))
        },
    }


def map_errors(predicted_maps, lowres_maps, area_lowres_maps, area_highres_maps, position, factor):
    """The true error of each predicted component map: PSNR against the measured HR map of that component.

    A prediction fits its own NMF on the LR scan, whose components need not
    come in the order of the area's decomposition (``decompose`` stage): each
    predicted component is paired with the area's component whose LR map
    correlates best with its own (one to one, scipy's ``linear_sum_assignment``).
    The area's HR map is calibrated to the predicted component's LR map
    (:func:`ramansr.convention.calibrate_to_lowres`) and scored against the
    predicted map at the window with data_range 1 (both maps are on the LR
    map's normalised scale), as the evaluation's ``common`` scale does.

    Parameters
    ----------
    predicted_maps : ndarray, (k, factor h, factor w)
    lowres_maps : ndarray, (k, h, w)
        The prediction's LR maps, normalised as ``predicted_maps``.
    area_lowres_maps : ndarray, (k, h, w)
    area_highres_maps : ndarray, (k, H, W)
        The area's decomposition.
    position : (X, Y)
    factor : int

    Returns
    -------
    psnr : ndarray of float64, (k,)
    matched : ndarray of int, (k,)
        The area's component paired with each predicted one.
    """
    k = len(lowres_maps)
    flat = np.concatenate([np.reshape(lowres_maps, (k, -1)), np.reshape(area_lowres_maps, (len(area_lowres_maps), -1))])
    correlation = np.nan_to_num(np.corrcoef(flat)[:k, k:])
    _, matched = linear_sum_assignment(-correlation)
    psnr = []
    for component, area_component in enumerate(matched):
        highres = np.asarray(area_highres_maps[area_component], dtype=np.float64)
        gain, offset = calibrate_to_lowres(lowres_maps[component], highres, position, factor)
        window = crop_window(predicted_maps[component], position, highres.shape)
        psnr.append(score(window, gain * highres + offset)["psnr"])
    return np.array(psnr), matched
