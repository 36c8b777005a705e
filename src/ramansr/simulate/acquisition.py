"""Acquisition of the two scans: stage geometry, optics and detection.

Geometry: the LR scan covers the whole field; the HR window is placed at a
random offset, missed by the stage's placement error, and rotated by up to
``rotation_deg_max``. Optics: the abundance maps are blurred with the
objective's incoherent Airy PSF (its exact optical transfer function) and
then point-sampled on the scan grid, so a 2 um step over sub-um structure
aliases exactly as in a real scan. Detection: per-scan intensity scale
(collection solid angle of the objective), slow laser-power drift along the
acquisition order, Poisson shot noise plus Gaussian read noise and optional
cosmic-ray spikes.
"""

import numpy as np
from scipy import ndimage

from ramansr.optics import airy_otf, blur
from ramansr.preprocess import PIXEL_BLOCK
from ramansr.simulate.settings import scan_field, scan_lines
from ramansr.simulate.specimen import specimen_abundance
from ramansr.simulate.spectra import ch_peak_channel

# --------------------------------------------------------------------------- geometry


def scan_positions(points, step_um, offset_um=(0.0, 0.0), rotation_deg=0.0, lines=None):
    """Positions (x, y) in um of the points of a scan, ``lines`` lines of ``points`` points.

    The scan is rotated by ``rotation_deg`` about its centre; ``offset_um`` is
    the top-left corner of the axis-aligned scan with the same centre.
    ``lines`` None means as many lines as points.

    Returns
    -------
    positions : ndarray of float64, shape (lines, points, 2)
        ``positions[i, j] = (x, y)`` of row ``i``, column ``j``.
    """
    lines = points if lines is None else lines
    half_x, half_y = (points - 1) * step_um / 2.0, (lines - 1) * step_um / 2.0
    ly, lx = np.meshgrid(np.arange(lines) * step_um - half_y, np.arange(points) * step_um - half_x, indexing="ij")
    angle = np.deg2rad(rotation_deg)
    cos, sin = np.cos(angle), np.sin(angle)
    x = offset_um[0] + half_x + cos * lx - sin * ly
    y = offset_um[1] + half_y + sin * lx + cos * ly
    return np.stack([x, y], axis=-1)


def draw_window(settings, rng):
    """Random HR window placement: nominal offset, placement error, rotation.

    The nominal offset is uniform over the positions that keep the (rotated)
    window inside the LR field; the stage then misses it by a normal error of
    ``placement_error_um`` per axis (clipped to stay inside).

    Returns
    -------
    window : dict
        ``nominal_offset_um``, ``offset_um`` (x, y) and ``rotation_deg``.
    """
    field, window = scan_field(settings["lowres"]), scan_field(settings["highres"])
    max_angle = np.deg2rad(settings["rotation_deg_max"])
    # corners of a window rotated about its centre stick out by this much (per axis, from the other side's length)
    overhang = window[::-1] / 2.0 * abs(np.sin(max_angle)) + window / 2.0 * (abs(np.cos(max_angle)) - 1.0)
    low, high = overhang, field - window - overhang
    if np.any(high < low):
        raise ValueError(
            f"HR window ({window[0]:.1f} x {window[1]:.1f} um) does not fit in the LR field "
            f"({field[0]:.1f} x {field[1]:.1f} um)"
        )
    nominal = rng.uniform(low, high)
    error = rng.normal(0.0, settings["placement_error_um"], size=2)
    rotation = rng.uniform(-1.0, 1.0) * settings["rotation_deg_max"]
    return {
        "nominal_offset_um": nominal,
        "offset_um": np.clip(nominal + error, low, high),
        "rotation_deg": float(rotation),
    }


# --------------------------------------------------------------------------- optics
# the objective's PSF (airy_otf, blur) is ramansr.optics', which prediction and the Wiener baseline share


def psf_margin_um(settings):
    """Room in um around the LR field for the LR objective's PSF tails (and a fine pixel's rounding)."""
    wavelength_um = settings["excitation_nm"] / 1000.0
    return 4.0 * wavelength_um / settings["lowres"]["na"] + 2.0 * settings["fine_step_um"]


def specimen_shape(settings):
    """Shape (rows, columns) on the fine grid of the specimen a scan pair is imaged from: the LR field
    plus :func:`psf_margin_um` on every side."""
    margin, fine = psf_margin_um(settings), settings["fine_step_um"]
    width, height = scan_field(settings["lowres"])
    return tuple(int(np.ceil((length + 2.0 * margin) / fine)) + 1 for length in (height, width))


def _sample_at(maps, positions, origin_um, step_um):
    """Bilinear point sampling of fine-grid ``maps`` at (x, y) ``positions``."""
    rows = (positions[..., 1] - origin_um) / step_um
    cols = (positions[..., 0] - origin_um) / step_um
    coords = np.stack([rows.ravel(), cols.ravel()])
    sampled = [ndimage.map_coordinates(m, coords, order=1, mode="nearest") for m in maps]
    return np.stack(sampled).reshape((len(maps), *positions.shape[:2]))


def sampled_abundances(settings, sample, window, rng):
    """Clean abundance maps as the two scans see them.

    The specimen is rendered on the fine grid (LR field plus a margin for the
    PSF tails), blurred with each objective's PSF and point-sampled at the
    scan positions.

    Parameters
    ----------
    settings : dict
        Resolved simulation settings.
    sample : str
    window : dict
        From :func:`draw_window`.
    rng : numpy.random.Generator
        Draws the specimen.

    Returns
    -------
    lowres, highres : ndarray of float32, shape (phases, lines, points)
    highres_positions : ndarray of float64, shape (lines, points, 2)
        (x, y) in um of every HR point in the LR frame.
    params : dict
        From :func:`ramansr.simulate.specimen.sample_morphology`.
    """
    lowres, highres = settings["lowres"], settings["highres"]
    fine = settings["fine_step_um"]
    wavelength_um = settings["excitation_nm"] / 1000.0
    margin = psf_margin_um(settings)
    specimen, params = specimen_abundance(settings, sample, specimen_shape(settings), rng)

    hr_positions = scan_positions(
        highres["points"], highres["step_um"], window["offset_um"], window["rotation_deg"], scan_lines(highres)
    )
    lr_positions = scan_positions(lowres["points"], lowres["step_um"], lines=scan_lines(lowres))
    maps = []
    for scan, positions in ((lowres, lr_positions), (highres, hr_positions)):
        blurred = blur(specimen, airy_otf(specimen.shape[1:], fine, wavelength_um, scan["na"]))
        maps.append(np.clip(_sample_at(blurred, positions, -margin, fine), 0.0, None).astype(np.float32))
    return maps[0], maps[1], hr_positions, params


# --------------------------------------------------------------------------- detection


def collection_efficiency(na):
    """Fraction of an isotropic emitter's light collected by an objective (in air)."""
    return (1.0 - np.cos(np.arcsin(na))) / 2.0


def signal_for_snr(snr, read_noise):
    """Mean signal ``S`` (photoelectrons) with ``S / sqrt(S + read_noise**2) == snr``."""
    snr2 = snr**2
    return (snr2 + np.sqrt(snr2**2 + 4.0 * snr2 * read_noise**2)) / 2.0


def laser_drift(shape, amplitude, rng):
    """Slow multiplicative laser-power drift over the acquisition order.

    Points are acquired line by line (along a row, then the next row); the
    power follows white noise smoothed over one line time, normalised to a
    relative rms of ``amplitude``.

    Returns
    -------
    drift : ndarray of float64, shape ``shape``, mean ~1.
    """
    rows, cols = shape
    walk = ndimage.gaussian_filter1d(rng.standard_normal(rows * cols), sigma=cols, mode="reflect")
    walk = (walk - walk.mean()) / max(walk.std(), 1e-12)
    return np.maximum(1.0 + amplitude * walk, 0.05).reshape(shape)


def intensity_scales(settings, wavenumbers, spectra, lowres_abundance, lowres_drift):
    """Photoelectrons per unit abundance of both scans, and the SNR channel.

    The LR scale makes the LR scan's mean CH-peak signal meet ``snr``; the HR
    objective collects more light per unit abundance (larger solid angle).

    Returns
    -------
    peak_channel : int
    lowres_scale, highres_scale : float
    """
    mean_spectrum = np.tensordot(lowres_abundance.mean(axis=(1, 2)), spectra, axes=1)
    peak = ch_peak_channel(wavenumbers, mean_spectrum)
    unit_peak = np.mean(np.tensordot(spectra[:, peak], lowres_abundance, axes=1) * lowres_drift)
    lowres_scale = signal_for_snr(settings["snr"], settings["read_noise"]) / unit_peak
    ratio = collection_efficiency(settings["highres"]["na"]) / collection_efficiency(settings["lowres"]["na"])
    return peak, float(lowres_scale), float(lowres_scale * ratio)


def detect(clean, read_noise, spikes, rng):
    """Poisson shot noise, Gaussian read noise and optional cosmic-ray spikes.

    Returns
    -------
    counts : ndarray of float32, same shape as ``clean``
    spike_table : ndarray of float32, shape (n, 4): row, col, channel, height
    """
    # the draws block by block, in the order one call would make them (all Poisson, then all
    # Gaussian): the same numbers without whole-cube float64 and int64 temporaries (5x the cube)
    pixels = clean.reshape(-1, clean.shape[-1])
    counts = np.empty(pixels.shape, dtype=np.float32)
    blocks = [slice(start, start + PIXEL_BLOCK) for start in range(0, len(pixels), PIXEL_BLOCK)]
    for block in blocks:
        counts[block] = rng.poisson(pixels[block].astype(np.float64))
    for block in blocks:
        counts[block] += rng.normal(0.0, read_noise, size=counts[block].shape).astype(np.float32)
    counts = counts.reshape(clean.shape)
    rows, cols, channels = clean.shape
    table = np.zeros((0, 4), np.float32)
    if spikes["enabled"]:
        n = rng.poisson(spikes["rate"] * rows * cols)
        where = np.column_stack([rng.integers(0, size, n) for size in (rows, cols, channels)])
        # cosmic rays: a few hundred to several thousand electrons, 1-3 pixels wide
        heights = np.exp(rng.uniform(np.log(200.0), np.log(5000.0), n))
        table = np.column_stack([where, heights]).astype(np.float32)
        for (r, c, ch), height in zip(where, heights, strict=True):
            counts[r, c, ch] += height
            for side in (ch - 1, ch + 1):
                if 0 <= side < channels:
                    counts[r, c, side] += height * rng.uniform(0.0, 0.3)
    return counts, table
