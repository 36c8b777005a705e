"""The simulated specimen: phase morphology of a sample and its abundance maps on a fine grid.

Two or more Gaussian random fields of correlation length ``xi`` are
thresholded at the quantiles that give each phase its area fraction;
interfaces get the tanh profile of a Cahn-Hilliard interface, 1.5 um wide by
default: the confocal volume is 2-4 um deep, so an inclined interface in the
focal slab appears laterally diffuse. ``xi`` and the phase contrast grow
linearly with the polymer fraction (more polymer: deeper quench, coarser
domains, phases further apart in composition). Optionally
(``heterogeneity``) structure larger than the HR window is superposed:
inclusions (cells, regions) tens of um across and a smooth gradient across
the field, each pulling the abundance towards one phase.
"""

import numpy as np
import scipy.fft

#: Volume fractions (surfactant, water, polymer) of each phase at full contrast.
PHASE_COMPOSITION = {
    "surfactant-rich": (0.55, 0.40, 0.05),
    "water-rich": (0.03, 0.96, 0.01),
    "polymer-rich": (0.15, 0.50, 0.35),
}


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
