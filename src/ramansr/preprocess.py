"""Spectral smoothing and scaling, the paper's preprocessing.

Data contract: a cube is float32 (rows, cols, channels). Scaling returns a
cube of the same shape in [0, 1] together with the per-channel minimum and
maximum needed to undo it.

Which axis is scaled, and why: the paper applies scikit-learn's
``MinMaxScaler`` to the (pixels, channels) matrix, which scales every
*channel* to [0, 1] across the pixels of one scan. This removes the per-scan
collection efficiency (the LR and HR objectives collect differently), gives
the strong OH band and the weaker CH and fingerprint bands the same weight in
the NMF fit, and keeps the data non-negative, as NMF requires. Each scan is
scaled on its own, since the two scans' intensities are not comparable.
"""

import numpy as np
from scipy.signal import savgol_filter
from sklearn.preprocessing import MinMaxScaler

from ramansr.io_utils import load_npz, save_npz


def smooth_spectra(cube, window_length=11, polyorder=3):
    """Savitzky-Golay smoothing along the spectral (last) axis.

    Parameters
    ----------
    cube : ndarray, shape (..., channels)
        Spectra, one per pixel.
    window_length : int
        Odd window length in channels; must exceed ``polyorder``.
    polyorder : int
        Order of the fitted polynomial.

    Returns
    -------
    smoothed : ndarray of float32, same shape as ``cube``.
    """
    channels = cube.shape[-1]
    if window_length > channels:
        raise ValueError(
            f"Savitzky-Golay window_length {window_length} exceeds the {channels} channels of the spectra"
        )
    return savgol_filter(cube, window_length, polyorder, axis=-1, mode="interp").astype(np.float32)


def scale_channels(cube):
    """Scale every channel to [0, 1] over the pixels (scikit-learn MinMaxScaler).

    Parameters
    ----------
    cube : ndarray, shape (rows, cols, channels)

    Returns
    -------
    scaled : ndarray of float32, shape (rows, cols, channels)
    data_min, data_max : ndarray of float64, shape (channels,)
        The per-channel range, for :func:`unscale_channels`.
    """
    pixels = cube.reshape(-1, cube.shape[-1])
    scaler = MinMaxScaler(clip=True).fit(pixels)
    scaled = scaler.transform(pixels).astype(np.float32).reshape(cube.shape)
    return scaled, scaler.data_min_, scaler.data_max_


def unscale_channels(cube, data_min, data_max):
    """Undo :func:`scale_channels`: map [0, 1] back to each channel's range."""
    span = np.asarray(data_max) - np.asarray(data_min)
    return (cube * span + np.asarray(data_min)).astype(np.float32)


def scale_with_range(cube, data_min, data_max):
    """Scale a cube with another scan's per-channel range (e.g. a clean cube with its noisy scan's)."""
    span = np.asarray(data_max) - np.asarray(data_min)
    span = np.where(span > 0, span, 1.0)
    return ((cube - np.asarray(data_min)) / span).astype(np.float32)


def preprocess_cube(cube, window_length=11, polyorder=3):
    """Smooth, then scale each channel to [0, 1]: the paper's preprocessing.

    Returns
    -------
    scaled : ndarray of float32, shape (rows, cols, channels)
    data_min, data_max : ndarray, shape (channels,)
        Range of the *smoothed* data, to undo the scaling.
    """
    return scale_channels(smooth_spectra(cube, window_length, polyorder))


def preprocess_scan_file(arrays_path, cube_path, spectra_path, window_length, polyorder):
    """The ``preprocess`` stage for one scan.

    Writes ``cube_path`` (the scaled cube, data_min, data_max, wavenumbers) and
    the small ``spectra_path`` (the scaling range, and the raw and smoothed
    spectrum at the centre pixel for the figures).
    """
    arrays = load_npz(arrays_path)
    cube = arrays["cube"]
    smoothed = smooth_spectra(cube, window_length, polyorder)
    scaled, data_min, data_max = scale_channels(smoothed)
    centre = (cube.shape[0] // 2, cube.shape[1] // 2)
    save_npz(cube_path, cube=scaled, data_min=data_min, data_max=data_max, wavenumbers=arrays["wavenumbers"])
    save_npz(
        spectra_path,
        wavenumbers=arrays["wavenumbers"],
        raw=cube[centre],
        smoothed=smoothed[centre],
        pixel=np.array(centre),
        data_min=data_min,
        data_max=data_max,
        pixel_size_um=arrays["pixel_size_um"],
    )
