"""Simulated paired low-/high-resolution Raman scans with known truth.

The embedded default dataset of the pipeline. Each sample is an aqueous
surfactant-polymer mixture (cationic surfactant + polystyrene sulfonate in
water) that has phase-separated into 2-3 chemical phases; each area is one
place on that specimen, imaged twice the way a WITec confocal Raman microscope
would: a 20x/0.5 NA low-resolution (LR) scan of the whole field and a
50x/0.8 NA high-resolution (HR) scan of a window inside it.

Physics, in the order it is applied
-----------------------------------
1. Specimen: on a fine grid (``fine_step_um``) two or more Gaussian random
   fields of correlation length ``xi`` are thresholded at the quantiles that
   give each phase its area fraction; interfaces get the tanh profile of a
   Cahn-Hilliard interface, 1.5 um wide by default: the confocal volume is
   2-4 um deep, so an inclined interface in the focal slab appears laterally
   diffuse. ``xi`` and the phase contrast grow linearly with
   the polymer fraction (more polymer: deeper quench, coarser domains, phases
   further apart in composition). Optionally (``heterogeneity``) structure
   larger than the HR window is superposed: inclusions (cells, regions) tens
   of um across and a smooth gradient across the field, each pulling the
   abundance towards one phase, so that an HR window's abundance range
   differs from its LR field's, as on real tissue.
2. Spectra: each phase is a mixture of three pure components (surfactant,
   water, polymer) whose spectra are sums of Voigt bands (Lorentzian line
   shape convolved with the spectrometer's Gaussian slit function).
3. Optics: the abundance maps are blurred with the objective's incoherent
   Airy PSF (488 nm, NA) -- applied as its exact optical transfer function --
   and then point-sampled on the scan grid, so a 2 um step over sub-um
   structure aliases exactly as in a real scan.
4. Detection: per-scan intensity scale (collection solid angle of the
   objective), slow laser-power drift along the acquisition order, Poisson
   shot noise plus Gaussian read noise; optional cosmic-ray spikes and a
   fluorescence background.

Signal-to-noise ratio
---------------------
``snr`` is defined on the LR scan as ``S / sqrt(S + read_noise**2)`` where
``S`` is the mean over the scan of the noise-free signal (photoelectrons) in
the CH-peak channel (the maximum of the mean spectrum between 2800 and
3000 rel. 1/cm) and the denominator is the standard deviation of the noise at
that signal level (shot noise plus read noise). The HR scan collects
``(1 - cos asin NA_hr) / (1 - cos asin NA_lr)`` times more light per unit
abundance; its resulting SNR is recorded in the truth.

Coordinates
-----------
The LR field's top-left scan point is the origin; x runs along scan lines
(columns), y across them (rows); LR point (i, j) lies at (x, y) =
(j * step, i * step). The HR scan is rotated by ``rotation_deg`` about its
centre; ``offset_um`` is the top-left corner of the axis-aligned window with
the same centre, and ``position`` = ``offset_um / (lr_step / factor)`` is
that corner in pixels of the LR map upscaled by the SR factor
(:func:`sr_factor`: ``round(lr_step / hr_step)``), where upscaled pixel ``j``
is LR point ``j / factor`` (the frame in which ``cv2.matchTemplate`` of the HR
map finds the window). Scans have ``points`` points per line (columns) and
``lines`` lines (rows; by default as many as points).
"""

import copy
import hashlib
import json
import zipfile

import numpy as np
import scipy.fft
from scipy import ndimage, special

from ramansr.io import Scan, read_scan, write_scan
from ramansr.io_utils import atomic_path

#: Pure-component bands: (centre rel. 1/cm, peak height, Lorentzian FWHM 1/cm).
#: Heights are Raman intensities per unit volume fraction, relative to the
#: surfactant's CH2 symmetric stretch.
COMPONENT_BANDS = {
    # cationic alkyl surfactant (CTAB-like): C-N, C-C, CH2 twist/scissor, CH stretches
    "surfactant": [
        (761, 0.12, 12),
        (890, 0.06, 15),
        (1064, 0.20, 12),
        (1128, 0.18, 12),
        (1296, 0.30, 14),
        (1440, 0.38, 22),
        (1460, 0.20, 18),
        (2850, 1.00, 16),
        (2882, 0.80, 20),
        (2930, 0.45, 30),
        (2962, 0.20, 18),
        (3030, 0.10, 25),
    ],
    # water: libration, bend, and the hydrogen-bonded OH stretch doublet
    "water": [
        (550, 0.03, 400),
        (1640, 0.04, 90),
        (3230, 0.30, 220),
        (3420, 0.36, 260),
        (3620, 0.08, 130),
    ],
    # sodium polystyrene sulfonate: ring breathing, SO3 stretch, ring C=C, CH
    "polymer": [
        (1000, 0.35, 9),
        (1033, 0.18, 12),
        (1128, 0.30, 16),
        (1190, 0.10, 20),
        (1412, 0.06, 30),
        (1450, 0.10, 25),
        (1600, 0.28, 14),
        (2925, 0.22, 35),
        (3065, 0.20, 22),
    ],
}
COMPONENTS = tuple(COMPONENT_BANDS)

#: Volume fractions (surfactant, water, polymer) of each phase at full contrast.
PHASE_COMPOSITION = {
    "surfactant-rich": (0.55, 0.40, 0.05),
    "water-rich": (0.03, 0.96, 0.01),
    "polymer-rich": (0.15, 0.50, 0.35),
}

#: Relative fluorescence yield of each pure component (impurities in the polymer).
FLUORESCENCE_YIELD = {"surfactant": 0.3, "water": 0.05, "polymer": 1.0}

CH_BAND = (2800.0, 3000.0)

#: Acquisition date (ISO 8601) written into the scans: same seed, same bytes.
ACQUISITION_DATE = "2024-01-01T09:00:00"

_DEFAULTS = {
    "seed": 2024,
    "samples": ["A", "B", "C", "D", "E", "F"],
    "areas": 4,
    "polymer_fraction": {"A": 0.05, "B": 0.10, "C": 0.15, "D": 0.20, "E": 0.25, "F": 0.30},
    "phases": ["surfactant-rich", "water-rich", "polymer-rich"],
    "lowres": {"points": 100, "lines": None, "step_um": 2.0, "na": 0.5},
    "highres": {"points": 100, "lines": None, "step_um": 0.5, "na": 0.8},
    "channels": 954,
    "wavenumber_range": [100.0, 3800.0],
    "excitation_nm": 488.0,
    "fine_step_um": 0.25,
    "snr": 20.0,
    "read_noise": 5.0,
    "drift": 0.02,
    "rotation_deg_max": 1.0,
    "placement_error_um": 2.0,
    "spikes": {"enabled": False, "rate": 0.005},
    "baseline": {"enabled": False, "strength": 0.5},
    "heterogeneity": {
        "enabled": False,
        "inclusions": 3,
        "inclusion_radius_um": [10.0, 30.0],
        "inclusion_edge_um": 2.0,
        "inclusion_weight": 0.9,
        "gradient": 0.7,
    },
    "morphology": {
        "correlation_length_um": 1.5,
        "coarsening_um": 25.0,
        "interface_um": 1.5,
        "contrast": 0.5,
        "contrast_gain": 1.6,
        "surfactant_area_fraction": 0.25,
    },
}


def default_settings():
    """Return the full default ``simulation:`` settings (the paper's geometry).

    Returns
    -------
    settings : dict
        A fresh deep copy; see ``workflow/schemas/simulation.schema.yaml``
        for the meaning of every key.
    """
    return copy.deepcopy(_DEFAULTS)


def resolve_settings(settings):
    """Fill missing keys of ``settings`` from :func:`default_settings`.

    Parameters
    ----------
    settings : dict or None
        A possibly partial ``simulation:`` section; nested sections are
        merged key by key.

    Returns
    -------
    resolved : dict
        A new dict with every key present.
    """
    resolved = default_settings()
    for key, value in (settings or {}).items():
        if isinstance(value, dict) and isinstance(resolved.get(key), dict):
            resolved[key] = {**resolved[key], **copy.deepcopy(value)}
        else:
            resolved[key] = copy.deepcopy(value)
    return resolved


def area_seed_sequence(seed, sample, area):
    """Seed sequence for one area, stable across processes and Python versions.

    Parameters
    ----------
    seed : int
        The global seed.
    sample : str
        Sample name; hashed with SHA-256 (Python's ``hash`` is salted).
    area : int
        Area number.

    Returns
    -------
    numpy.random.SeedSequence
    """
    sample_key = int.from_bytes(hashlib.sha256(str(sample).encode()).digest()[:8], "little")
    return np.random.SeedSequence([int(seed), sample_key, int(area)])


# --------------------------------------------------------------------------- spectra


def spectrometer_axis(channels, wavenumber_range, excitation_nm):
    """Wavenumber axis of a grating spectrometer.

    A grating disperses linearly in wavelength, so the channels are equally
    spaced in Stokes wavelength and therefore non-uniform in Raman shift
    (wider spacing at low shifts).

    Parameters
    ----------
    channels : int
        Number of detector columns.
    wavenumber_range : (float, float)
        Raman shift of the first and last channel, rel. 1/cm.
    excitation_nm : float
        Laser wavelength.

    Returns
    -------
    wavenumbers : ndarray of float64, shape (channels,)
    """
    laser_per_cm = 1e7 / excitation_nm
    first, last = (1e7 / (laser_per_cm - shift) for shift in wavenumber_range)
    stokes_nm = np.linspace(first, last, int(channels))
    return laser_per_cm - 1e7 / stokes_nm


def band_spectrum(wavenumbers, bands):
    """Sum of Voigt bands sampled on ``wavenumbers``.

    Each band is a Lorentzian of the given FWHM convolved with a Gaussian slit
    function one local channel spacing wide (sigma), scaled to its peak height.

    Parameters
    ----------
    wavenumbers : ndarray, shape (channels,)
    bands : iterable of (centre, height, fwhm)

    Returns
    -------
    spectrum : ndarray of float64, shape (channels,)
    """
    spacing = np.abs(np.gradient(wavenumbers))
    spectrum = np.zeros_like(wavenumbers, dtype=np.float64)
    for centre, height, fwhm in bands:
        slit_sigma = float(np.interp(centre, wavenumbers, spacing))
        gamma = fwhm / 2.0
        peak = special.voigt_profile(0.0, slit_sigma, gamma)
        spectrum += height * special.voigt_profile(wavenumbers - centre, slit_sigma, gamma) / peak
    return spectrum


def fluorescence_shape(wavenumbers, excitation_nm):
    """Broad fluorescence background, a Gaussian in wavelength (580 nm, 50 nm).

    Returns
    -------
    shape : ndarray of float64, shape (channels,), maximum 1 over a full
        100-3800 rel. 1/cm axis.
    """
    stokes_nm = 1e7 / (1e7 / excitation_nm - wavenumbers)
    return np.exp(-0.5 * ((stokes_nm - 580.0) / 50.0) ** 2)


def ch_peak_channel(wavenumbers, mean_spectrum):
    """Channel of the CH-stretch maximum of ``mean_spectrum`` (2800-3000 rel. 1/cm).

    Falls back to the global maximum when the axis misses the CH band.
    """
    in_band = (wavenumbers >= CH_BAND[0]) & (wavenumbers <= CH_BAND[1])
    if not in_band.any():
        return int(np.argmax(mean_spectrum))
    candidates = np.flatnonzero(in_band)
    return int(candidates[np.argmax(mean_spectrum[candidates])])


# --------------------------------------------------------------------------- specimen


def sample_morphology(settings, sample):
    """Morphology parameters of one sample, from its polymer fraction.

    Returns
    -------
    params : dict
        ``polymer_fraction``, ``correlation_length_um``, ``contrast`` (0-1),
        ``area_fractions`` (one per phase, summing to 1) and
        ``compositions`` (phases x components volume fractions).
    """
    if sample not in settings["polymer_fraction"]:
        raise KeyError(f"sample {sample!r} has no polymer_fraction in the simulation settings")
    morph = settings["morphology"]
    phi = float(settings["polymer_fraction"][sample])
    phases = list(settings["phases"])
    targets = {
        "polymer-rich": min(0.5, 0.08 + 1.2 * phi),
        "surfactant-rich": morph["surfactant_area_fraction"],
        "water-rich": 0.5,  # only when it is not the matrix
    }
    # every phase but the last (the continuous matrix) takes its target share
    fractions = [targets[name] for name in phases[:-1]]
    fractions.append(1.0 - sum(fractions))
    if fractions[-1] <= 0.05:
        raise ValueError(f"phase area fractions {fractions} leave no matrix phase")
    full_contrast = np.array([PHASE_COMPOSITION[name] for name in phases])
    mean_composition = np.asarray(fractions) @ full_contrast
    contrast = float(np.clip(morph["contrast"] + morph["contrast_gain"] * phi, 0.0, 1.0))
    # near the critical point the coexisting phases are alike (low contrast)
    compositions = mean_composition + contrast * (full_contrast - mean_composition)
    return {
        "polymer_fraction": phi,
        "correlation_length_um": morph["correlation_length_um"] + morph["coarsening_um"] * phi,
        "contrast": contrast,
        "area_fractions": np.asarray(fractions),
        "compositions": compositions,
    }


def phase_spectra(wavenumbers, compositions):
    """Raman spectra of the phases: composition-weighted pure-component spectra.

    Parameters
    ----------
    wavenumbers : ndarray, shape (channels,)
    compositions : ndarray, shape (phases, 3)
        Volume fractions of surfactant, water, polymer.

    Returns
    -------
    spectra : ndarray of float64, shape (phases, channels)
    """
    pure = np.stack([band_spectrum(wavenumbers, COMPONENT_BANDS[name]) for name in COMPONENTS])
    return compositions @ pure


def gaussian_random_field(shape, correlation_px, rng):
    """Zero-mean, unit-variance Gaussian random field (periodic).

    The covariance is ``exp(-r**2 / (2 * correlation_px**2))``: white noise
    filtered in Fourier space by a Gaussian of standard deviation
    ``correlation_px / sqrt(2)``.
    """
    noise = rng.standard_normal(shape)
    ky = scipy.fft.fftfreq(shape[0])[:, None]
    kx = scipy.fft.rfftfreq(shape[1])[None, :]
    sigma = correlation_px / np.sqrt(2.0)
    transfer = np.exp(-2.0 * (np.pi * sigma) ** 2 * (kx**2 + ky**2))
    field = scipy.fft.irfft2(scipy.fft.rfft2(noise) * transfer, s=shape)
    return (field - field.mean()) / field.std()


def smooth_indicator(field, threshold, interface_px):
    """Tanh (Cahn-Hilliard) profile across the level set ``field == threshold``.

    The signed distance to the interface is approximated by
    ``(field - threshold) / |grad field|``.
    """
    gy, gx = np.gradient(field)
    distance = (field - threshold) / np.maximum(np.hypot(gx, gy), 1e-6)
    return 0.5 * (1.0 + np.tanh(distance / max(interface_px, 1e-3)))


def specimen_abundance(settings, sample, shape, rng):
    """Abundance maps of the phases on the fine grid.

    Phases are laid down in order: each phase but the last takes its area
    fraction of what the previous ones left, through its own thresholded
    random field; the last phase (the matrix) fills the rest. The maps are
    non-negative and sum to one in every pixel.

    Parameters
    ----------
    settings : dict
        Resolved simulation settings.
    sample : str
    shape : (int, int)
        Fine-grid shape.
    rng : numpy.random.Generator

    Returns
    -------
    abundance : ndarray of float64, shape (phases, *shape)
    params : dict
        From :func:`sample_morphology`.
    """
    params = sample_morphology(settings, sample)
    step = settings["fine_step_um"]
    correlation_px = params["correlation_length_um"] / step
    interface_px = settings["morphology"]["interface_um"] / step
    remaining = np.ones(shape)
    maps = []
    taken = 0.0
    for fraction in params["area_fractions"][:-1]:
        field = gaussian_random_field(shape, correlation_px, rng)
        share = fraction / max(1.0 - taken, 1e-9)
        free = field[remaining > 0.5]
        threshold = np.quantile(free, 1.0 - share) if free.size else np.inf
        inside = smooth_indicator(field, threshold, interface_px)
        maps.append(remaining * inside)
        remaining = remaining * (1.0 - inside)
        taken += fraction
    maps.append(remaining)
    abundance = np.stack(maps)
    if settings["heterogeneity"]["enabled"]:
        abundance = add_heterogeneity(abundance, settings["heterogeneity"], step, rng)
    return abundance, params


def large_scale_weights(shape, step_um, heterogeneity, rng):
    """Weight maps of the structures larger than an HR window, and the phase each one pulls towards.

    Inclusions (cells, large regions) are discs of radius drawn uniformly from
    ``inclusion_radius_um`` with a tanh edge ``inclusion_edge_um`` wide and a
    plateau of ``inclusion_weight``; the gradient is a linear ramp from 0 to
    ``gradient`` across the grid along a random direction.

    Returns
    -------
    list of ndarray
        One weight map (rows, cols) in [0, 1] per structure.
    """
    rows, cols = shape
    yy, xx = np.mgrid[0:rows, 0:cols] * step_um
    structures = []
    low, high = heterogeneity["inclusion_radius_um"]
    for _ in range(int(heterogeneity["inclusions"])):
        centre = rng.uniform(0.0, 1.0, size=2) * (cols * step_um, rows * step_um)
        radius = rng.uniform(low, high)
        distance = radius - np.hypot(xx - centre[0], yy - centre[1])
        edge = max(heterogeneity["inclusion_edge_um"], 1e-3)
        structures.append(heterogeneity["inclusion_weight"] * 0.5 * (1.0 + np.tanh(distance / edge)))
    if heterogeneity["gradient"] > 0:
        angle = rng.uniform(0.0, 2.0 * np.pi)
        along = np.cos(angle) * xx + np.sin(angle) * yy
        ramp = (along - along.min()) / max(np.ptp(along), 1e-12)
        structures.append(heterogeneity["gradient"] * ramp)
    return structures


def add_heterogeneity(abundance, heterogeneity, step_um, rng):
    """Superpose structure larger than an HR window on the phase maps.

    Each structure of :func:`large_scale_weights` mixes the abundance towards
    one phase, drawn at random: ``a <- (1 - w) a + w e_phase``. The maps stay
    non-negative and sum to one, so the specimen keeps its fine phase domains
    but an HR window on a cell or at one end of a gradient holds a different
    abundance range than the LR field around it.

    Parameters
    ----------
    abundance : ndarray, shape (phases, rows, cols)
    heterogeneity : dict
        The ``heterogeneity`` settings.
    step_um : float
        Fine-grid pixel.
    rng : numpy.random.Generator

    Returns
    -------
    ndarray of float64, same shape
    """
    abundance = np.array(abundance, dtype=np.float64)
    for weights in large_scale_weights(abundance.shape[1:], step_um, heterogeneity, rng):
        phase = int(rng.integers(len(abundance)))
        abundance *= 1.0 - weights
        abundance[phase] += weights
    return abundance


def airy_otf(shape, step_um, wavelength_um, na):
    """Incoherent optical transfer function of a circular pupil (rfft layout).

    ``OTF(f) = 2/pi * (arccos(u) - u * sqrt(1 - u**2))``, ``u = f / (2 NA / lambda)``:
    the exact Fourier transform of the Airy intensity PSF.
    """
    fy = scipy.fft.fftfreq(shape[0], d=step_um)[:, None]
    fx = scipy.fft.rfftfreq(shape[1], d=step_um)[None, :]
    u = np.minimum(np.hypot(fx, fy) / (2.0 * na / wavelength_um), 1.0)
    return (2.0 / np.pi) * (np.arccos(u) - u * np.sqrt(1.0 - u**2))


def blur(maps, otf):
    """Convolve each map with the PSF whose transfer function is ``otf``."""
    spectrum = scipy.fft.rfft2(maps, axes=(-2, -1))
    return scipy.fft.irfft2(spectrum * otf, s=maps.shape[-2:], axes=(-2, -1))


# --------------------------------------------------------------------------- geometry


def scan_lines(scan):
    """Lines per scan of a ``lowres`` / ``highres`` settings block (``lines: null``: as many as points per line)."""
    return scan["points"] if scan.get("lines") is None else scan["lines"]


def scan_field(scan):
    """(width, height) in um of a scan, first to last point."""
    return np.array([(scan["points"] - 1) * scan["step_um"], (scan_lines(scan) - 1) * scan["step_um"]])


def sr_factor(settings):
    """The SR factor of simulated scans: :func:`ramansr.geometry.step_ratio` of their steps."""
    from ramansr.geometry import step_ratio

    lowres, highres = settings["lowres"]["step_um"], settings["highres"]["step_um"]
    return step_ratio((lowres, lowres), (highres, highres), "simulation: lowres/highres step_um")[0]


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


# --------------------------------------------------------------------------- scans


def _sample_at(maps, positions, origin_um, step_um):
    """Bilinear point sampling of fine-grid ``maps`` at (x, y) ``positions``."""
    rows = (positions[..., 1] - origin_um) / step_um
    cols = (positions[..., 0] - origin_um) / step_um
    coords = np.stack([rows.ravel(), cols.ravel()])
    sampled = [ndimage.map_coordinates(m, coords, order=1, mode="nearest") for m in maps]
    return np.stack(sampled).reshape((len(maps), *positions.shape[:2]))


def _model_cube(abundance, spectra, scale_map):
    """``scale_map * sum_k abundance_k * spectra_k`` as float32 (rows, cols, channels)."""
    cube = np.zeros(abundance.shape[1:] + spectra.shape[1:], dtype=np.float32)
    for phase_map, spectrum in zip(abundance, spectra, strict=True):
        cube += phase_map[..., None].astype(np.float32) * spectrum.astype(np.float32)
    cube *= scale_map[..., None].astype(np.float32)
    return cube


def clean_cube(truth, which):
    """Noise-free scan behind a simulated scan.

    Abundances x (phase spectra + fluorescence) x intensity scale x drift:
    everything but the shot/read noise and the cosmic-ray spikes.

    Parameters
    ----------
    truth : dict
        From :func:`simulate_area` or :func:`read_truth`.
    which : {"lowres", "highres"}

    Returns
    -------
    cube : ndarray of float32, shape (rows, cols, channels)
    """
    if which not in ("lowres", "highres"):
        raise ValueError(f"which must be 'lowres' or 'highres', not {which!r}")
    spectra = np.asarray(truth["spectra"], np.float64) + np.asarray(truth["baseline_spectra"], np.float64)
    scale_map = truth[f"{which}_scale"] * np.asarray(truth[f"{which}_drift"], np.float64)
    return _model_cube(np.asarray(truth[f"{which}_abundance"]), spectra, scale_map)


def _detect(clean, read_noise, spikes, rng):
    """Poisson shot noise, Gaussian read noise and optional cosmic-ray spikes.

    Returns
    -------
    counts : ndarray of float32, same shape as ``clean``
    spike_table : ndarray of float32, shape (n, 4): row, col, channel, height
    """
    counts = rng.poisson(clean.astype(np.float64)).astype(np.float32)
    counts += rng.normal(0.0, read_noise, size=clean.shape).astype(np.float32)
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
        From :func:`sample_morphology`.
    """
    lowres, highres = settings["lowres"], settings["highres"]
    fine = settings["fine_step_um"]
    wavelength_um = settings["excitation_nm"] / 1000.0
    width, height = scan_field(lowres)
    margin = 4.0 * wavelength_um / lowres["na"] + 2.0 * fine
    shape = tuple(int(np.ceil((length + 2.0 * margin) / fine)) + 1 for length in (height, width))
    specimen, params = specimen_abundance(settings, sample, shape, rng)

    hr_positions = scan_positions(
        highres["points"], highres["step_um"], window["offset_um"], window["rotation_deg"], scan_lines(highres)
    )
    lr_positions = scan_positions(lowres["points"], lowres["step_um"], lines=scan_lines(lowres))
    maps = []
    for scan, positions in ((lowres, lr_positions), (highres, hr_positions)):
        blurred = blur(specimen, airy_otf(specimen.shape[1:], fine, wavelength_um, scan["na"]))
        maps.append(np.clip(_sample_at(blurred, positions, -margin, fine), 0.0, None).astype(np.float32))
    return maps[0], maps[1], hr_positions, params


def background_spectra(settings, wavenumbers, compositions):
    """Fluorescence background of each phase (zeros when the baseline is off).

    Returns
    -------
    background : ndarray of float64, shape (phases, channels)
    """
    if not settings["baseline"]["enabled"]:
        return np.zeros((len(compositions), len(wavenumbers)))
    yields = compositions @ np.array([FLUORESCENCE_YIELD[name] for name in COMPONENTS])
    shape = fluorescence_shape(wavenumbers, settings["excitation_nm"])
    return settings["baseline"]["strength"] * yields[:, None] * shape[None, :]


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


def simulate_area(settings, sample, area):
    """Simulate one area of one sample: the LR scan, the HR scan and the truth.

    Parameters
    ----------
    settings : dict
        The ``simulation:`` section (missing keys take their defaults).
    sample : str
        A sample name with an entry in ``polymer_fraction``.
    area : int
        Area number; with ``settings["seed"]`` and ``sample`` it seeds
        everything, so the same triple gives the same bytes.

    Returns
    -------
    lowres, highres : ramansr.io.Scan
        float32 cubes (rows, cols, channels) in photoelectrons.
    truth : dict
        Geometry (``offset_um``, ``nominal_offset_um``, ``position``,
        ``rotation_deg``, ``highres_positions_um``), the clean abundance maps
        of both scans (phases, rows, cols), the phase ``spectra`` and
        ``baseline_spectra`` (phases, channels), ``wavenumbers``,
        ``phase_names``, per-scan ``*_scale`` and ``*_drift``, the noise
        settings and achieved ``snr_lowres`` / ``snr_highres``, the spikes
        (``*_spikes``: row, col, channel, height), the morphology parameters
        and the resolved ``settings`` (JSON).
    """
    settings = resolve_settings(settings)
    specimen_seq, window_seq, lowres_seq, highres_seq = area_seed_sequence(settings["seed"], sample, area).spawn(4)
    window = draw_window(settings, np.random.default_rng(window_seq))
    lr_abundance, hr_abundance, hr_positions, params = sampled_abundances(
        settings, sample, window, np.random.default_rng(specimen_seq)
    )
    wavenumbers = spectrometer_axis(settings["channels"], settings["wavenumber_range"], settings["excitation_nm"])
    spectra = phase_spectra(wavenumbers, params["compositions"])
    baseline = background_spectra(settings, wavenumbers, params["compositions"])
    rngs = {"lowres": np.random.default_rng(lowres_seq), "highres": np.random.default_rng(highres_seq)}
    lr_drift = laser_drift(lr_abundance.shape[1:], settings["drift"], rngs["lowres"])
    hr_drift = laser_drift(hr_abundance.shape[1:], settings["drift"], rngs["highres"])
    peak, lr_scale, hr_scale = intensity_scales(settings, wavenumbers, spectra + baseline, lr_abundance, lr_drift)

    truth = {
        "sample": str(sample),
        "area": int(area),
        "offset_um": window["offset_um"],
        "nominal_offset_um": window["nominal_offset_um"],
        "position": window["offset_um"] / (settings["lowres"]["step_um"] / sr_factor(settings)),
        "rotation_deg": window["rotation_deg"],
        "highres_positions_um": hr_positions,
        "lowres_abundance": lr_abundance,
        "highres_abundance": hr_abundance,
        "spectra": spectra.astype(np.float32),
        "baseline_spectra": baseline.astype(np.float32),
        "wavenumbers": wavenumbers,
        "phase_names": list(settings["phases"]),
        "lowres_scale": lr_scale,
        "highres_scale": hr_scale,
        "lowres_drift": lr_drift.astype(np.float32),
        "highres_drift": hr_drift.astype(np.float32),
        "read_noise": float(settings["read_noise"]),
        "snr_channel": peak,
        "polymer_fraction": params["polymer_fraction"],
        "correlation_length_um": params["correlation_length_um"],
        "phase_contrast": params["contrast"],
        "area_fractions": params["area_fractions"],
        "compositions": params["compositions"],
        "component_names": list(COMPONENTS),
        "settings": json.dumps(settings, sort_keys=True),
    }
    scans = {}
    for which, label in (("lowres", "LR"), ("highres", "HR")):
        clean = clean_cube(truth, which)
        mean_peak = float(clean[..., peak].mean())
        truth[f"snr_{which}"] = mean_peak / np.sqrt(mean_peak + settings["read_noise"] ** 2)
        counts, truth[f"{which}_spikes"] = _detect(clean, settings["read_noise"], settings["spikes"], rngs[which])
        del clean
        meta = {
            # a fixed acquisition date keeps the export byte-reproducible
            "date": ACQUISITION_DATE,
            "sample": str(sample),
            "area": int(area),
            "objective_na": settings[which]["na"],
            "excitation_nm": settings["excitation_nm"],
            "simulated": True,
        }
        step = settings[which]["step_um"]
        scans[which] = Scan(counts, wavenumbers, (step, step), f"Sample{sample}_Area{area}_{label}_Spec.Data 1", meta)
    return scans["lowres"], scans["highres"], truth


# --------------------------------------------------------------------------- files


def _write_npz(arrays, path):
    """``np.savez`` with fixed zip timestamps, so equal arrays give equal bytes."""
    with atomic_path(path) as tmp, zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for key in sorted(arrays):
            info = zipfile.ZipInfo(f"{key}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            with archive.open(info, "w", force_zip64=True) as handle:
                np.lib.format.write_array(handle, np.asanyarray(arrays[key]), allow_pickle=False)


def write_truth(truth, path):
    """Write a truth dict as a deterministic .npz (atomic)."""
    arrays = {}
    for key, value in truth.items():
        if isinstance(value, (list, tuple)) and value and isinstance(value[0], str):
            value = np.array(value, dtype=np.str_)
        arrays[key] = np.asarray(value)
    _write_npz(arrays, path)


def read_truth(path):
    """Read a truth file written by :func:`write_area`.

    Returns
    -------
    truth : dict
        Arrays as stored; 0-d entries as Python scalars; ``phase_names`` and
        ``component_names`` as lists of str; ``settings`` as a JSON string.
    """
    truth = {}
    with np.load(path, allow_pickle=False) as archive:
        for key in archive.files:
            value = archive[key]
            if value.ndim == 0:
                value = value.item()
            elif value.dtype.kind == "U":
                value = [str(v) for v in value]
            truth[key] = value
    return truth


def write_area(settings, sample, area, lowres_path, highres_path, truth_path):
    """Simulate one area and write the two WITec-format scans and the truth.

    Parameters
    ----------
    settings : dict
        The ``simulation:`` section.
    sample : str
    area : int
    lowres_path, highres_path : path-like
        Destinations of the WITec-export .mat files (float32).
    truth_path : path-like
        Destination of the truth .npz.
    """
    lowres, highres, truth = simulate_area(settings, sample, area)
    write_scan(lowres, lowres_path, format="witec")
    write_scan(highres, highres_path, format="witec")
    write_truth(truth, truth_path)


# --------------------------------------------------------------------------- figure


def _band_image(cube, wavenumbers, band):
    """Mean of ``cube`` over the channels inside ``band`` (rel. 1/cm)."""
    inside = (wavenumbers >= band[0]) & (wavenumbers <= band[1])
    if not inside.any():
        inside[np.argmin(np.abs(wavenumbers - np.mean(band)))] = True
    return cube[..., inside].mean(axis=-1)


def plot_overview(lowres_path, highres_path, truth_path, png_path):
    """Figure of one simulated area: LR and HR CH-band images, phase spectra.

    Parameters
    ----------
    lowres_path, highres_path : path-like
        WITec-format scans written by :func:`write_area`.
    truth_path : path-like
        The matching truth file.
    png_path : path-like
        Output PNG (written atomically).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Polygon

    lowres, highres, truth = read_scan(lowres_path), read_scan(highres_path), read_truth(truth_path)
    settings = json.loads(truth["settings"])
    band = (2820.0, 2960.0)
    fig, axes = plt.subplots(1, 3, figsize=(16, 4.8), gridspec_kw={"width_ratios": [1, 1, 1.4]})

    lr_step, hr_step = settings["lowres"]["step_um"], settings["highres"]["step_um"]
    x0, y0 = truth["offset_um"]
    for ax, scan, step, (left, top), title in (
        (axes[0], lowres, lr_step, (0.0, 0.0), f"LR {settings['lowres']['na']} NA, {lr_step} um step"),
        (axes[1], highres, hr_step, (x0, y0), f"HR {settings['highres']['na']} NA, {hr_step} um step (LR frame)"),
    ):
        image = _band_image(scan.cube, scan.wavenumbers, band)
        rows, cols = image.shape
        extent = (left - step / 2, left + (cols - 0.5) * step, top + (rows - 0.5) * step, top - step / 2)
        shown = ax.imshow(image, cmap="magma", extent=extent, interpolation="nearest")
        fig.colorbar(shown, ax=ax, label=f"mean counts {band[0]:.0f}-{band[1]:.0f} 1/cm")
        ax.set_xlabel("x (um)")
        ax.set_ylabel("y (um)")
        ax.set_title(title, fontsize=10)

    corners = truth["highres_positions_um"][[0, 0, -1, -1], [0, -1, -1, 0]]
    axes[0].add_patch(Polygon(corners, closed=True, fill=False, edgecolor="cyan", linewidth=1.5))
    axes[0].set_title(
        axes[0].get_title() + f"\nHR window at ({x0:.2f}, {y0:.2f}) um, {truth['rotation_deg']:+.2f} deg",
        fontsize=10,
    )

    for name, spectrum in zip(truth["phase_names"], truth["spectra"], strict=True):
        axes[2].plot(truth["wavenumbers"], spectrum, linewidth=1.0, label=name)
    axes[2].set_xlabel("Raman shift (rel. 1/cm)")
    axes[2].set_ylabel("intensity per unit abundance (a.u.)")
    axes[2].set_title(
        f"Phase spectra, sample {truth['sample']} (polymer fraction {truth['polymer_fraction']:.2f})", fontsize=10
    )
    axes[2].legend(frameon=False)
    fig.suptitle(f"Simulated sample {truth['sample']}, area {truth['area']}")
    fig.tight_layout()
    with atomic_path(png_path) as tmp:
        fig.savefig(tmp, dpi=120, format="png")
    plt.close(fig)
