"""The spectral axes of an area's two scans: the channels both cover, and a calibration shifted between them."""

import numpy as np
from scipy import ndimage

from ramansr.geometry import GeometryError

#: Spectral axes that agree to within this (rel. 1/cm) are the same calibration.
MAX_SPECTRAL_SHIFT = 20.0

#: An axis is taken as shifted when the mean spectra correlate this much better shifted than as they are.
SHIFT_CORRELATION_GAIN = 0.3


def spectral_overlap(lowres_axis, highres_axis, min_fraction, where):
    """The LR channels inside the range both scans cover.

    Parameters
    ----------
    lowres_axis, highres_axis : array-like
        Wavenumbers (rel. 1/cm), each monotonic.
    min_fraction : float
        The overlap must cover at least this fraction of the LR range.
    where : str

    Returns
    -------
    (first, stop) : the slice of LR channels to keep.

    Raises
    ------
    GeometryError
        No overlap, or one under ``min_fraction``; the message gives both ranges.
    """
    lowres_axis, highres_axis = np.asarray(lowres_axis, float), np.asarray(highres_axis, float)
    low = max(lowres_axis.min(), highres_axis.min())
    high = min(lowres_axis.max(), highres_axis.max())
    inside = np.flatnonzero((lowres_axis >= low) & (lowres_axis <= high))
    span = lowres_axis.max() - lowres_axis.min()
    fraction = (high - low) / span if span > 0 else 0.0
    if len(inside) < 2 or fraction < min_fraction:
        raise GeometryError(
            f"{where}: the spectral axes overlap too little: LR {_range(lowres_axis)}, HR {_range(highres_axis)} "
            f"rel. 1/cm; overlap {max(fraction, 0.0):.0%} of the LR range, at least {min_fraction:.0%} needed "
            "(preprocess: min_spectral_overlap)"
        )
    return [int(inside[0]), int(inside[-1]) + 1]


def _bands(axis, spectrum, grid):
    """A mean spectrum on ``grid`` with its broad background removed and unit variance: its bands."""
    order = np.argsort(axis)
    values = np.interp(grid, np.asarray(axis, float)[order], np.asarray(spectrum, float)[order])
    step = grid[1] - grid[0]
    # a background of fluorescence and detector offset varies over hundreds of 1/cm, bands over tens
    values = values - ndimage.gaussian_filter1d(values, 50.0 / step, mode="nearest")
    return (values - values.mean()) / (values.std() or 1.0)


def spectral_shift(lowres_header, highres_header, where, min_fraction=0.5):
    """Refuse an HR scan whose spectra match the LR scan's only with the axis shifted.

    The two mean spectra's bands (background removed) are correlated over the
    overlap of the axes as they are, and with the HR axis shifted by every
    whole LR channel that keeps ``min_fraction`` of the LR range overlapping.
    An axis mislabelled by hundreds of 1/cm passes the overlap check and gives
    maps of the wrong chemistry; only the spectra show it.

    Parameters
    ----------
    lowres_header, highres_header : dict
        Scan headers with ``wavenumbers`` and ``mean_spectrum`` (and ``source``, for the message).
    where : str
    min_fraction : float

    Returns
    -------
    shift : float
        The shift (rel. 1/cm, added to the HR axis) at which the spectra correlate best.

    Raises
    ------
    GeometryError
        When that shift is over ``MAX_SPECTRAL_SHIFT`` and gains at least
        ``SHIFT_CORRELATION_GAIN`` in correlation; names both files, both
        correlations and the shift.
    """
    lowres_axis = np.asarray(lowres_header["wavenumbers"], float)
    highres_axis = np.asarray(highres_header["wavenumbers"], float)
    step = float(np.median(np.abs(np.diff(lowres_axis))))
    low, high = lowres_axis.min(), lowres_axis.max()
    grid = np.arange(low, high + step / 2, step)
    lowres = _bands(lowres_axis, lowres_header["mean_spectrum"], grid)
    reach = int((1 - min_fraction) * len(grid))
    correlations = {}
    for channels in range(-reach, reach + 1):
        shifted = grid + channels * step  # the HR axis value that matches LR grid point i
        inside = (shifted >= highres_axis.min()) & (shifted <= highres_axis.max())
        if inside.sum() < max(min_fraction * len(grid), 3):
            continue
        highres = _bands(highres_axis, highres_header["mean_spectrum"], shifted)
        correlations[channels * step] = float(np.corrcoef(lowres[inside], highres[inside])[0, 1])
    best = max(correlations, key=correlations.get)
    unshifted = correlations.get(0.0, -1.0)
    if abs(best) > MAX_SPECTRAL_SHIFT and correlations[best] - unshifted >= SHIFT_CORRELATION_GAIN:
        names = [header.get("source") or label for header, label in ((lowres_header, "LR"), (highres_header, "HR"))]
        raise GeometryError(
            f"{where}: the spectra do not match: the mean spectrum of {names[1]} correlates {unshifted:.2f} with "
            f"that of {names[0]} on the axes as they are, {correlations[best]:.2f} with the HR axis shifted by "
            f"{best:+.0f} rel. 1/cm; check the spectral axis (calibration) of both files"
        )
    return best


def _range(axis):
    return f"{np.min(axis):.1f}-{np.max(axis):.1f}"
