"""What a detector records besides the Raman signal: the CCD offset and the fluorescence baseline.

Every CCD adds a bias of hundreds of counts to every channel (and a dark level that grows with the
integration time), and most specimens add a broad fluorescence background. Neither scales with the
collection efficiency of the objective the way Raman counts do, so both are removed from each scan on
its own (:func:`ramansr.preprocess.preprocess_cube`) before anything compares or scales the two scans
of an area: left in, the HR scan's background lands above the LR-fitted NMF model's and whole HR
component maps collapse to zero.

The offset (``preprocess: offset``) is one of:

- ``"estimate"``: from the scan itself (:func:`estimate_offset`), the estimate logged and recorded;
- a number: the dark level in counts, the same for every scan;
- the path of a dark spectrum (a text file: one count per channel, or wavenumber and count columns),
  recorded with the detector's shutter closed;
- ``"none"``: the counts are used as they are (the scans were offset-corrected before export).

The baseline (``preprocess: baseline``) is fitted to every smoothed spectrum with one of
pybaselines' methods (``method`` and its keyword ``settings``), and subtracted.
"""

import sys
from pathlib import Path

import numpy as np

#: Pixels the offset estimate and the signal check read at the most (evenly strided): the median
#: spectrum of 20,000 spectra is as steady as that of a whole lab-size map, at a fraction of its cost.
SAMPLE_PIXELS = 20_000

#: The percentile over the channels of a scan's median spectrum taken as its offset: the floor of
#: the spectrum, robust to a few dead or filter-edge channels below it.
OFFSET_PERCENTILE = 1.0

#: A scan whose brightest channel (median spectrum, offset removed) is below this many standard
#: errors of the median spectrum holds nothing but the detector's offset and noise: white noise's
#: median spectrum spans about 6 of them over a thousand channels.
MIN_SIGNAL_TO_NOISE = 10.0

#: The standard error of a median of n normal values is this many sigma / sqrt(n).
MEDIAN_EFFICIENCY = 1.2533

#: Normal standard deviations per median absolute deviation.
MAD_TO_SIGMA = 1.4826


def _sampled_pixels(cube):
    """At most ``SAMPLE_PIXELS`` spectra of a cube, evenly strided, as (pixels, channels)."""
    pixels = cube.reshape(-1, cube.shape[-1])
    return pixels[:: max(1, len(pixels) // SAMPLE_PIXELS)]


def median_spectrum(cube):
    """The median over the pixels of every channel (float64, shape (channels,))."""
    return np.median(_sampled_pixels(cube), axis=0).astype(np.float64)


def estimate_offset(cube):
    """The detector offset of a scan, estimated from its counts.

    The floor of the scan's median spectrum (its ``OFFSET_PERCENTILE`` percentile over the
    channels): in a Raman spectrum some channels (between the fingerprint and the CH bands, or
    at the axis' ends) carry no band, and the median over the pixels averages the noise away.
    What fluorescence sits under those channels is left to the baseline.

    Parameters
    ----------
    cube : ndarray, shape (rows, cols, channels)

    Returns
    -------
    float
        Counts.
    """
    return float(np.percentile(median_spectrum(cube), OFFSET_PERCENTILE))


def pixel_noise(cube):
    """Standard deviation of one channel's noise, from the spectra's channel-to-channel differences.

    The median absolute first difference along the spectra, over the sampled pixels and channels,
    over sqrt(2): bands change slowly from channel to channel, the noise does not.
    """
    differences = np.diff(_sampled_pixels(cube).astype(np.float64), axis=-1)
    return float(MAD_TO_SIGMA * np.median(np.abs(differences - np.median(differences))) / np.sqrt(2.0))


def read_dark_spectrum(path, wavenumbers):
    """A dark spectrum on a scan's channels.

    Parameters
    ----------
    path : path-like
        Text (whitespace, comma or tab separated): one count per channel, or two columns
        (wavenumber, count), interpolated onto ``wavenumbers``.
    wavenumbers : ndarray, shape (channels,)

    Returns
    -------
    ndarray of float64, shape (channels,)

    Raises
    ------
    ValueError
        Naming the file: unreadable, neither one nor two columns, or one column of another
        length than the scan's channels.
    """
    try:
        table = np.loadtxt(path, delimiter=None if Path(path).suffix != ".csv" else ",", ndmin=2)
    except (OSError, ValueError) as error:
        raise ValueError(f"{path}: not a readable dark spectrum: {error}") from error
    if table.shape[1] == 1 or table.shape[0] == 1:
        counts = table.ravel()
        if len(counts) != len(wavenumbers):
            raise ValueError(
                f"{path}: a dark spectrum of {len(counts)} values for a scan of {len(wavenumbers)} channels "
                "(give one count per channel, or two columns: wavenumber, count)"
            )
        return counts.astype(np.float64)
    if table.shape[1] != 2:
        raise ValueError(
            f"{path}: a dark spectrum has one column (counts) or two (wavenumber, count), not {table.shape[1]}"
        )
    order = np.argsort(table[:, 0])
    return np.interp(wavenumbers, table[order, 0], table[order, 1])


def detector_offset(cube, wavenumbers, setting, name):
    """The offset a scan's ``preprocess: offset`` setting removes from every spectrum.

    Parameters
    ----------
    cube : ndarray, shape (rows, cols, channels)
    wavenumbers : ndarray, shape (channels,)
    setting : "estimate", "none", number or path-like
        See the module docstring.
    name : str
        How the log names the scan.

    Returns
    -------
    float or ndarray of float64, shape (channels,)
        A dark level (0.0 for "none"), or a dark spectrum.
    """
    if setting == "none":
        return 0.0
    if setting == "estimate":
        offset = estimate_offset(cube)
        print(f"{name}: detector offset estimated from the scan: {offset:.1f} counts", file=sys.stderr)
        return offset
    if isinstance(setting, (int, float)):
        return float(setting)
    return read_dark_spectrum(setting, wavenumbers)


def check_raman_signal(cube, name):
    """Refuse a scan that, once its offset is removed, holds nothing above the detector's noise.

    The scan's median spectrum is its offset plus noise alone when its brightest channel lies within
    ``MIN_SIGNAL_TO_NOISE`` standard errors of the median (from :func:`pixel_noise`) of the offset.

    Raises
    ------
    ValueError
        Naming the scan, its brightest channel's level and the noise: a scan of the closed shutter,
        a dark frame or an empty field carries no component to map.
    """
    peak = float(median_spectrum(cube).max())
    pixels = len(_sampled_pixels(cube))
    error = MEDIAN_EFFICIENCY * pixel_noise(cube) / np.sqrt(pixels)
    if not peak > MIN_SIGNAL_TO_NOISE * error:
        raise ValueError(
            f"{name}: no Raman signal above the detector offset: the brightest channel of the median spectrum "
            f"is {peak:.2f} counts over the offset, within {MIN_SIGNAL_TO_NOISE:g} standard errors "
            f"({error:.2f} counts, from the noise of {pixels} spectra). "
            "Is it a dark frame, or a scan of an empty field?"
        )


def subtract_baselines(cube, wavenumbers, method, settings):
    """Fit a pybaselines baseline to every spectrum and subtract it, in place.

    Parameters
    ----------
    cube : ndarray of float32, shape (..., channels)
        Smoothed spectra; overwritten with the baseline-free ones.
    wavenumbers : ndarray, shape (channels,)
    method : str
        A method of ``pybaselines.Baseline`` (``modpoly``, ``imodpoly``, ``arpls``, ``asls``, ``snip``...).
    settings : dict
        Its keyword arguments (``poly_order``, ``lam``, ...).

    Returns
    -------
    ndarray of float64, shape (channels,)
        The mean baseline removed, for the record.
    """
    # imported here: only the preprocessing stages fit baselines
    from pybaselines import Baseline

    # one fitter for the axis: pybaselines keeps what depends on x alone (the Vandermonde matrix,
    # the penalty) between calls with the same x
    fit = getattr(Baseline(x_data=np.asarray(wavenumbers, np.float64)), method)
    pixels = cube.reshape(-1, cube.shape[-1])
    total = np.zeros(pixels.shape[1])
    for pixel in pixels:
        baseline = fit(pixel, **settings)[0]
        pixel -= baseline.astype(pixels.dtype)
        total += baseline
    return total / max(len(pixels), 1)
