"""Offset and baseline removal, despiking, smoothing and scaling: the paper's preprocessing, made safe for real scans.

Data contract: a cube is float32 (rows, cols, channels). Scaling returns a
cube of the same shape in [0, 1] together with the per-channel low and high
values needed to undo it.

The steps, in order (:func:`spectral_chain`, then the scaling, :func:`preprocess_cube`):

0. The detector offset is removed (estimated, configured or a dark spectrum:
   :mod:`ramansr.background`), and a scan with no signal above it is refused.
1. Cosmic-ray despiking (:func:`despike`, on by default): Whitaker and
   Hayes' modified z-scores of a spectral difference, here the symmetric
   second difference ``2 x[c] - x[c-1] - x[c+1]`` (a one-channel spike's
   signature, twice as tall as in the first difference and centred on it).
   Each channel's difference is compared with the same channel's difference in
   every other pixel of the scan (median and median absolute deviation over
   the pixels), so the detector adapts to the noise level and the band shapes
   of that channel; a channel whose z-score exceeds ``threshold`` is a spike,
   unless the same channel also stands out in a neighbouring pixel (a cosmic
   ray hits one pixel; a sharp band of a minority phase shows in a patch).
   A spike and its two neighbours (cosmic rays spread over 1-3 channels) are
   replaced by linear interpolation between the nearest unflagged channels.
2. Savitzky-Golay smoothing along the spectra, then the fluorescence
   baseline (pybaselines, when ``baseline: enabled``) fitted and removed.
3. Per-channel scaling to [0, 1]: the paper applies scikit-learn's
   ``MinMaxScaler`` to the (pixels, channels) matrix, which scales every
   *channel* to [0, 1] across the pixels of one scan. This removes the per-scan
   collection efficiency (the LR and HR objectives collect differently), gives
   the strong OH band and the weaker CH and fingerprint bands the same weight
   in the NMF fit, and keeps the data non-negative, as NMF requires. Each scan
   is scaled on its own, since the two scans' intensities are not comparable.
   So that one outlier pixel (a spike the detector missed, a hot pixel) cannot
   set a channel's range and squeeze every other pixel towards 0, the range is
   the ``100 - clip_percentile`` to ``clip_percentile`` percentile of the
   channel over the pixels (99.9 by default: the 0.1 % most extreme pixels of
   each channel are clipped to 0 or 1); 100 gives the paper's plain min-max.

Before these, an area's two scans are put on one grid and one spectral axis
(:func:`align_scan`, from the run's ``geometry.json``): the LR channels inside
the spectral overlap, the HR spectra interpolated onto them, and an HR scan
whose step ratio is not an integer resampled onto the LR step / factor grid.
"""

import sys

import numpy as np
from scipy import ndimage

from ramansr.geometry.steps import resampled_points
from ramansr.io_utils import load_npz, read_json, save_npz

#: Scale of the median absolute deviation of a normal distribution (Iglewicz and Hoaglin's modified z-score).
MAD_TO_SIGMA = 0.6745

# Block sizes of the per-channel statistics and the per-pixel filters: each block's temporaries are a
# few tens of MB on a lab-size scan, so a job's memory is the cubes it must hold, not their float64 copies.
CHANNEL_BLOCK, PIXEL_BLOCK = 64, 4096


def despike(cube, *, threshold):
    """Remove cosmic-ray spikes (Whitaker-Hayes modified z-scores of the second difference).

    Parameters
    ----------
    cube : ndarray, shape (rows, cols, channels)
    threshold : float
        Modified z-score above which a channel is a spike.

    Returns
    -------
    despiked : ndarray of float32, same shape
    spikes : ndarray of bool, same shape
        The spike channels found (before widening to their neighbours).
    """
    cube = np.asarray(cube, dtype=np.float32)
    rows, cols, channels = cube.shape
    pixels = cube.reshape(-1, channels)
    spikes = np.empty(pixels.shape, dtype=bool)
    # the statistics are per channel: a block of channels at a time keeps the temporaries small
    for start in range(0, channels, CHANNEL_BLOCK):
        block = slice(start, min(start + CHANNEL_BLOCK, channels))
        # channels as rows: the medians over the pixels run along contiguous memory
        difference = second_difference(pixels, block)
        median = np.median(difference, axis=1, keepdims=True)
        deviation = np.median(np.abs(difference - median), axis=1, keepdims=True)
        deviation = np.where(deviation > 0, deviation, np.finfo(np.float32).tiny)
        found = (MAD_TO_SIGMA * (difference - median) > threshold * deviation).T.reshape(rows, cols, -1)
        # a cosmic ray hits one pixel; a narrow band of a minority phase stands out in a patch of them
        padded = np.pad(found, ((1, 1), (1, 1), (0, 0)))
        neighbours = padded[:-2, 1:-1] | padded[2:, 1:-1] | padded[1:-1, :-2] | padded[1:-1, 2:]
        spikes[:, block] = (found & ~neighbours).reshape(-1, found.shape[-1])
    despiked = pixels.copy()
    for pixel in np.flatnonzero(spikes.any(axis=1)):
        # a spike's neighbours carry part of its charge: replace them too
        replaced = ndimage.binary_dilation(spikes[pixel], iterations=1)
        kept = np.flatnonzero(~replaced)
        despiked[pixel, replaced] = np.interp(np.flatnonzero(replaced), kept, pixels[pixel, kept])
    return despiked.reshape(cube.shape), spikes.reshape(cube.shape)


def second_difference(pixels, block):
    """``2 x[c] - x[c-1] - x[c+1]`` of the channels in ``block``, the spectra mirrored at both ends.

    Parameters
    ----------
    pixels : ndarray, shape (pixels, channels)
    block : slice of channels, step 1

    Returns
    -------
    ndarray of ``pixels``' dtype, shape (channels in block, pixels): one row per channel. A spike in
    the first or last channel shows as in any other (numpy's "reflect" padding: channel -1 is
    channel 1, channel C is channel C - 2).
    """
    channels = pixels.shape[1]
    first, stop = block.start, block.stop
    columns = [pixels[:, max(first - 1, 0) : min(stop + 1, channels)].T]
    if first == 0:
        columns.insert(0, pixels[:, min(1, channels - 1)][None])
    if stop == channels:
        columns.append(pixels[:, max(channels - 2, 0)][None])
    padded = np.concatenate(columns)  # contiguous, (channels in block + 2, pixels)
    return 2 * padded[1:-1] - padded[:-2] - padded[2:]


def smooth_spectra(cube, *, window_length, polyorder):
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
        raise ValueError(f"Savitzky-Golay window_length {window_length} exceeds the {channels} channels of the spectra")
    # Imported here: scipy.signal takes about a second to import, which the stages that only
    # align or scale (dataset, the prediction check) need not pay.
    from scipy.signal import savgol_filter

    pixels = cube.reshape(-1, channels)
    smoothed = np.empty(pixels.shape, dtype=np.float32)
    # pixel by pixel along the spectra: blocks of pixels keep scipy's float64 temporaries small
    for start in range(0, len(pixels), PIXEL_BLOCK):
        block = slice(start, start + PIXEL_BLOCK)
        smoothed[block] = savgol_filter(pixels[block], window_length, polyorder, axis=-1, mode="interp")
    return smoothed.reshape(cube.shape)


def scale_channels(cube, *, clip_percentile):
    """Scale every channel to [0, 1] over the pixels, clipping the most extreme pixels.

    Parameters
    ----------
    cube : ndarray, shape (rows, cols, channels)
    clip_percentile : float in (50, 100]
        Each channel's range is its ``100 - clip_percentile`` to
        ``clip_percentile`` percentile over the pixels; values outside are
        clipped to 0 and 1. 100 is scikit-learn's ``MinMaxScaler``.

    Returns
    -------
    scaled : ndarray of float32, shape (rows, cols, channels)
    data_min, data_max : ndarray of float64, shape (channels,)
        The per-channel range, for :func:`unscale_channels`.
    """
    if not 50.0 < clip_percentile <= 100.0:
        raise ValueError(f"clip_percentile must be in (50, 100], got {clip_percentile}")
    channels = cube.shape[-1]
    pixels = cube.reshape(-1, channels)
    # the percentiles a block of channels at a time (scale_with_range blocks the scaling) so the temporaries stay small
    ranges = [
        np.percentile(pixels[:, start : start + CHANNEL_BLOCK], [100.0 - clip_percentile, clip_percentile], axis=0)
        for start in range(0, channels, CHANNEL_BLOCK)
    ]
    data_min, data_max = np.concatenate(ranges, axis=1)
    scaled = scale_with_range(pixels, data_min, data_max)
    return np.clip(scaled, 0.0, 1.0, out=scaled).reshape(cube.shape), data_min, data_max


def unscale_channels(cube, data_min, data_max):
    """Undo :func:`scale_channels`: map [0, 1] back to each channel's range."""
    span = np.asarray(data_max) - np.asarray(data_min)
    return (cube * span + np.asarray(data_min)).astype(np.float32)


def scale_with_range(values, low, high, axis=-1):
    """Map ``low`` to 0 and ``high`` to 1, with ranges given along one axis.

    For scaling with another array's range: a clean cube with its noisy scan's
    per-channel range (``axis=-1``), an HR map with its LR map's (``axis=0`` of
    a (k, rows, cols) stack). A range of zero width shifts without scaling.

    Parameters
    ----------
    values : ndarray
    low, high : array_like, shape (values.shape[axis],)
    axis : int

    Returns
    -------
    ndarray of float32, the shape of ``values``; computed in the inputs'
    common precision.
    """
    values = np.asarray(values)
    other_axes = tuple(i for i in range(values.ndim) if i != axis % values.ndim)
    low = np.expand_dims(np.asarray(low), other_axes)
    span = np.expand_dims(np.asarray(high), other_axes) - low
    span = np.where(span > 0, span, 1.0)
    scaled = np.empty(values.shape, dtype=np.float32)
    # a block of the first axis at a time: the temporaries, in the common precision (float64 for a
    # float32 cube and float64 ranges), stay about PIXEL_BLOCK spectra in size instead of twice the cube
    step = max(1, PIXEL_BLOCK * values.shape[-1] // max(1, values[0].size))
    for start in range(0, len(values), step):
        block = slice(start, start + step)
        # ranges along the first axis (a map stack's) are sliced with it; others broadcast
        block_low, block_span = (low[block], span[block]) if len(low) > 1 else (low, span)
        scaled[block] = (values[block] - block_low) / block_span
    return scaled


def spectral_chain(cube, wavenumbers, settings, *, name, keep_pixel=None, overwrite=False):
    """The Raman signal alone: detector offset removed, despiked, smoothed, fluorescence baseline removed.

    The one chain every scan goes through, in the pipeline's ``preprocess`` stage and in prediction
    alike; :func:`preprocess_cube` scales its result.

    Parameters
    ----------
    cube : ndarray, shape (rows, cols, channels)
        Counts as the detector recorded them; not modified unless ``overwrite``.
    wavenumbers : ndarray, shape (channels,)
    settings : mapping
        The config's ``preprocess:`` section (or a checkpoint's copy of it): ``offset``, ``despike``
        (``enabled``, ``threshold``), ``window_length``, ``polyorder``, ``baseline`` (``enabled``,
        ``method``, ``settings``); see :mod:`ramansr.background`.
    name : str
        How the log and errors name the scan.
    keep_pixel : (row, col) or None
        A pixel whose spectrum is kept at each step, for the figures.
    overwrite : bool
        Remove the offset in ``cube`` itself (float32), for a caller that needs it no more: a
        lab-size scan is hundreds of MB.

    Returns
    -------
    signal : ndarray of float32, shape (rows, cols, channels)
    record : dict
        What was removed: ``offset`` (counts, or a dark spectrum), ``spikes`` (channels replaced),
        ``baseline`` (the mean baseline removed, (channels,); zeros when off) and, with
        ``keep_pixel``, ``raw``, ``smoothed`` and ``pixel_baseline`` spectra of that pixel.

    Raises
    ------
    ValueError
        A scan with no Raman signal above its offset (:func:`ramansr.background.check_raman_signal`).
    """
    from ramansr.background import check_raman_signal, detector_offset, subtract_baselines

    offset = detector_offset(cube, wavenumbers, settings["offset"], name)
    if overwrite and cube.dtype == np.float32 and cube.flags.writeable:
        cube -= np.asarray(offset, np.float32)
    else:
        cube = np.subtract(cube, np.asarray(offset, np.float32), dtype=np.float32)
    check_raman_signal(cube, name)
    record = {"offset": offset, "spikes": 0}
    if settings["despike"]["enabled"]:
        cube, found = despike(cube, threshold=settings["despike"]["threshold"])
        record["spikes"] = int(found.sum())
        print(
            f"{name}: {record['spikes']} cosmic-ray spikes found and replaced "
            f"({int(found.any(axis=2).sum())} of {found.shape[0] * found.shape[1]} spectra)",
            file=sys.stderr,
        )
        del found
    if keep_pixel is not None:
        record["raw"] = cube[keep_pixel].copy()
    cube = smooth_spectra(cube, window_length=settings["window_length"], polyorder=settings["polyorder"])
    if keep_pixel is not None:
        record["smoothed"] = cube[keep_pixel].copy()
    baseline = settings["baseline"]
    if baseline["enabled"]:
        record["baseline"] = subtract_baselines(cube, wavenumbers, baseline["method"], baseline["settings"])
    else:
        record["baseline"] = np.zeros(cube.shape[-1])
    if keep_pixel is not None:
        record["pixel_baseline"] = record["smoothed"] - cube[keep_pixel]
    return cube, record


def preprocess_cube(cube, wavenumbers, settings, *, name, keep_pixel=None, overwrite=False):
    """:func:`spectral_chain`, then every channel scaled to [0, 1] (``settings["clip_percentile"]``).

    Returns
    -------
    scaled : ndarray of float32, shape (rows, cols, channels)
    data_min, data_max : ndarray, shape (channels,)
        The range of the chain's signal, to undo the scaling.
    record : dict
        From :func:`spectral_chain`.
    """
    signal, record = spectral_chain(cube, wavenumbers, settings, name=name, keep_pixel=keep_pixel, overwrite=overwrite)
    return (*scale_channels(signal, clip_percentile=settings["clip_percentile"]), record)


def resample_grid(cube, step, new_step):
    """Resample a scan bilinearly onto a grid of ``new_step`` over the same field.

    Parameters
    ----------
    cube : ndarray, shape (rows, cols, channels)
    step, new_step : (dy, dx) in um

    Returns
    -------
    ndarray of float32, shape (rows', cols', channels): the points of the new
    grid that lie inside the field, starting at the first point.
    """
    positions = []
    for size, old, new in zip(cube.shape[:2], step, new_step, strict=True):
        positions.append(np.arange(resampled_points(size, old, new)) * new / old)
    rows, cols = np.meshgrid(*positions, indexing="ij")
    out = np.empty(rows.shape + cube.shape[2:], dtype=np.float32)
    for channel in range(cube.shape[2]):
        out[..., channel] = ndimage.map_coordinates(cube[..., channel], [rows, cols], order=1, mode="nearest")
    return out


def align_scan(cube, wavenumbers, scan, record, lowres_wavenumbers):
    """Put one scan on its area's common grid and spectral axis (see :mod:`ramansr.geometry`).

    Parameters
    ----------
    cube : ndarray, (rows, cols, channels)
    wavenumbers : ndarray, (channels,)
    scan : {"lowres", "highres"}
    record : dict
        The area's geometry (see :mod:`ramansr.geometry`), with its SR factor.
    lowres_wavenumbers : ndarray
        The area's LR axis.

    Returns
    -------
    cube, wavenumbers
        The LR scan keeps its channels inside the overlap; the HR scan is
        interpolated onto them (when its axis differs) and, when its step ratio
        is not an integer, resampled onto the LR step / factor grid.
    """
    first, stop = record["channels"]
    factor = record["factor"]
    target = np.asarray(lowres_wavenumbers, dtype=np.float64)[first:stop]
    if scan == "lowres":
        return cube[..., first:stop], target
    if record["resample"]:
        new_step = np.asarray(record["lowres_step_um"]) / factor
        print(
            f"HR step {record['highres_step_um']} um is not LR step / {factor}: resampling onto {new_step} um",
            file=sys.stderr,
        )
        cube = resample_grid(cube, record["highres_step_um"], new_step)
    if len(wavenumbers) != len(target) or not np.allclose(wavenumbers, target):
        order = np.argsort(wavenumbers)
        cube = np.stack(
            [np.interp(target, wavenumbers[order], spectrum[order]) for spectrum in cube.reshape(-1, cube.shape[-1])]
        ).reshape((*cube.shape[:2], len(target)))
    return np.asarray(cube, dtype=np.float32), target


def preprocess_scan_file(arrays_path, cube_path, spectra_path, settings, *, scan, geometry_path, lowres_header_path):
    """The ``preprocess`` stage for one scan.

    ``settings`` is the config's ``preprocess:`` section; ``geometry_path`` the
    area's geometry file and ``lowres_header_path`` its LR scan's header. Writes ``cube_path``
    (the scaled cube, data_min, data_max, the mean baseline removed, wavenumbers) and the small
    ``spectra_path``: the scaling range, what was removed (``offset``: counts or a dark
    spectrum; ``baseline``: the mean fluorescence baseline) and, at the centre pixel for the
    figures, the ``raw`` (offset removed, despiked) and ``smoothed`` spectra and its
    ``pixel_baseline``. The log states the offset estimate and the spikes found.
    """
    record = read_json(geometry_path)
    lowres_wavenumbers = read_json(lowres_header_path)["wavenumbers"]
    arrays = load_npz(arrays_path)
    cube, wavenumbers = align_scan(arrays.pop("cube"), arrays["wavenumbers"], scan, record, lowres_wavenumbers)
    centre = (cube.shape[0] // 2, cube.shape[1] // 2)
    scaled, data_min, data_max, removed = preprocess_cube(
        cube, wavenumbers, settings, name=str(arrays_path), keep_pixel=centre, overwrite=True
    )
    del cube
    pixel_size = np.asarray(record[f"{scan}_step_um"], dtype=np.float64)
    if scan == "highres" and record["resample"]:
        pixel_size = np.asarray(record["lowres_step_um"]) / record["factor"]
    # temporary, read once by decompose: stored uncompressed (see save_npz)
    save_npz(
        cube_path,
        compress=False,
        cube=scaled,
        data_min=data_min,
        data_max=data_max,
        baseline=removed["baseline"],
        wavenumbers=wavenumbers,
    )
    save_npz(
        spectra_path,
        wavenumbers=wavenumbers,
        raw=removed["raw"],
        smoothed=removed["smoothed"],
        pixel_baseline=removed["pixel_baseline"],
        pixel=np.array(centre),
        data_min=data_min,
        data_max=data_max,
        pixel_size_um=pixel_size,
        spikes=np.array(removed["spikes"]),
        offset=np.asarray(removed["offset"], np.float64),
        baseline=removed["baseline"],
    )
