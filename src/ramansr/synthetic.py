"""Exactly aligned LR/HR training pairs made with the run's own LR imaging model, for pretraining.

A registered pair (:mod:`ramansr.dataset`) is two measurements: its alignment is as good as the
registration (a few hundredths of an HR pixel to a fifth), its HR map carries the HR scan's noise, and
there are only as many as the run has areas. The imaging model of the LR scan is known (the LR
objective's Airy PSF, point sampling at the LR step, the noise of the LR maps), so pairs the scans do
not have can be made from HR maps: :class:`ImagingModel` images an object on the HR grid as the LR scan
would (:func:`ramansr.optics.reimage_lowres`, the prediction's LR consistency check, plus
Gaussian noise at the level measured on the LR maps against their HR windows, :func:`lowres_noise`)
and as the HR scan would (the HR objective's Airy PSF on the HR grid).

The objects (:func:`synthetic_pairs`):

- the measured HR windows of the training pairs, flipped, turned by quarter turns and shifted by a
  whole number of HR pixels (so every phase of the LR grid under them occurs); they already carry the
  HR objective's blur (and the HR scan's small noise), so their LR images have the HR blur on top of
  the LR one's, a small excess (the LR PSF is the wider);
- synthetic morphologies of many kinds and scales (:data:`KINDS`), on the intensity scale of the LR
  maps, built from the simulator's random fields and tanh interfaces
  (:func:`ramansr.simulate.specimen.gaussian_random_field`, :func:`~ramansr.simulate.specimen.smooth_indicator`):
  their LR image is of the object itself, their target the object through the HR PSF, as in a scan.

Grid convention (:mod:`ramansr.register`): SR pixel ``j`` sits at LR point ``(j + 0.5) / factor -
0.5``; :func:`~ramansr.optics.reimage_lowres` samples LR point ``p`` at SR pixel ``factor p +
(factor - 1) / 2``, so a pair's HR window at corner (X, Y) = (factor e, factor e) lies where a
registered window at that corner lies. Every pair has the same shapes (an LR map of ``size`` x
``size`` points, an HR window of ``factor (size - 2 edge)`` pixels, ``edge`` LR points in from the
border), so that they batch as a :class:`ramansr.pairs.PairSet`.
"""

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from ramansr.optics import (
    DEFAULT_EXCITATION_NM,
    DEFAULT_HIGHRES_NA,
    DEFAULT_LOWRES_NA,
    mirrored_blur,
    reimage_lowres,
)
from ramansr.pairs import PairSet
from ramansr.simulate.specimen import gaussian_random_field, smooth_indicator

#: The kinds of synthetic morphology: thresholded random fields with tanh interfaces (2-4 phases, as
#: the simulator's specimens), continuous random fields, discs and ellipses on a background, and
#: domains over a large-scale gradient.
KINDS = ("domains", "field", "inclusions", "graded")

#: Correlation lengths and interface widths (um) the morphologies draw from, log-uniformly: from
#: below the LR step to several times it.
CORRELATION_UM = (0.75, 15.0)
INTERFACE_UM = (0.1, 3.0)


@dataclass(frozen=True)
class ImagingModel:
    """The two scans' imaging on the HR grid: ``factor`` HR pixels per LR step.

    Attributes
    ----------
    factor : int
        The SR factor.
    lowres_step_um : float
    lowres_na, highres_na : float
        The objectives' numerical apertures.
    excitation_nm : float
    noise : float
        Standard deviation of the Gaussian noise of an LR map, on its scale (:func:`lowres_noise`).
    """

    factor: int
    lowres_step_um: float
    lowres_na: float = DEFAULT_LOWRES_NA
    highres_na: float = DEFAULT_HIGHRES_NA
    excitation_nm: float = DEFAULT_EXCITATION_NM
    noise: float = 0.0

    @property
    def highres_step_um(self):
        return self.lowres_step_um / self.factor

    def lowres(self, objects, rng=None):
        """The LR maps of objects on the HR grid: :func:`ramansr.optics.reimage_lowres`, plus noise.

        Parameters
        ----------
        objects : ndarray, (k, factor h, factor w)
        rng : numpy.random.Generator or None
            Draws the noise; None: noise-free.

        Returns
        -------
        ndarray of float32, (k, h, w)
        """
        maps = reimage_lowres(
            objects,
            self.factor,
            lowres_step_um=self.lowres_step_um,
            na=self.lowres_na,
            wavelength_um=self.excitation_nm / 1e3,
        )
        if rng is not None and self.noise > 0:
            maps = maps + rng.normal(0.0, self.noise, maps.shape).astype(np.float32)
        return maps

    def highres(self, objects):
        """The objects through the HR objective's PSF, on the HR grid (mirrored at the edges, as the LR's).

        Parameters
        ----------
        objects : ndarray, (k, H, W)

        Returns
        -------
        ndarray of float32, (k, H, W)
        """
        blurred = mirrored_blur(objects, self.highres_step_um, self.excitation_nm / 1e3, self.highres_na)
        return blurred.astype(np.float32)


def finest_scale_noise(image):
    """Donoho's noise estimate of an image: the median absolute finest diagonal Haar coefficient / 0.6745.

    (What scikit-image's ``estimate_sigma`` computes with PyWavelets, which the project does not need.)
    """
    image = np.asarray(image, dtype=np.float64)
    rows, cols = (image.shape[0] // 2) * 2, (image.shape[1] // 2) * 2
    blocks = image[:rows, :cols].reshape(rows // 2, 2, cols // 2, 2)
    diagonal = (blocks[:, 0, :, 0] - blocks[:, 0, :, 1] - blocks[:, 1, :, 0] + blocks[:, 1, :, 1]) / 2.0
    return float(np.median(np.abs(diagonal)) / 0.6745)


def lowres_noise(lowres_maps, highres_windows, positions, imaging, edge=1):
    """The noise of LR maps, measured against the LR image of their HR windows.

    Each HR window, cut to whole LR steps at its (rounded) corner, is imaged by ``imaging`` without
    noise; the LR map minus that image, over the LR points under the window (``edge`` points in from
    its border, where the image mirrors the window), leaves the noise and what the pair's misalignment
    adds (a registration finds no rotation: the simulated HR stage turns by up to 1 degree, up to 0.9
    HR pixels at a 50 um window's corners). :func:`finest_scale_noise` of that residual reads the
    white noise and little of the smooth misalignment; the median over the maps is returned. On the
    default run: 0.013, against 0.010 from the noise-free truth; the residual's standard deviation is
    0.036 and the same estimate on the LR maps alone, which reads aliased fine structure as noise, 0.030.

    Parameters
    ----------
    lowres_maps : ndarray, (k, h, w)
    highres_windows : ndarray, (k, H, W)
        On the LR maps' scale.
    positions : ndarray, (k, 2)
        The windows' (X, Y) corners in the upscaled LR map.
    imaging : ImagingModel
    edge : int

    Returns
    -------
    float
    """
    factor = imaging.factor
    estimates = []
    for lowres, window, (x, y) in zip(lowres_maps, highres_windows, np.rint(positions).astype(int), strict=True):
        # cut the window where an LR step starts: LR point p then sits at window pixel factor m + (factor - 1) / 2
        top, left = (-y) % factor, (-x) % factor
        rows, cols = (window.shape[0] - top) // factor, (window.shape[1] - left) // factor
        row, col = (y + top) // factor, (x + left) // factor
        rows, cols = min(rows, lowres.shape[0] - row), min(cols, lowres.shape[1] - col)
        if min(rows, cols) <= 2 * edge + 1:
            continue
        imaged = imaging.lowres(window[None, top : top + factor * rows, left : left + factor * cols])[0]
        residual = lowres[row : row + rows, col : col + cols] - imaged
        estimates.append(finest_scale_noise(residual[edge : rows - edge, edge : cols - edge]))
    if not estimates:
        raise ValueError("no HR window spans enough LR points to measure the LR maps' noise: give it (pretrain: noise)")
    return float(np.median(estimates))


def _log_uniform(rng, bounds):
    return float(np.exp(rng.uniform(np.log(bounds[0]), np.log(bounds[1]))))


def morphology(kind, shape, step_um, rng):
    """One synthetic object in [0, 1] on a grid of ``step_um`` pixels (no blur: the optics add it).

    Parameters
    ----------
    kind : str
        One of :data:`KINDS`.
    shape : (rows, cols)
    step_um : float
    rng : numpy.random.Generator

    Returns
    -------
    ndarray of float64, ``shape``
    """
    correlation_px = _log_uniform(rng, CORRELATION_UM) / step_um
    interface_px = _log_uniform(rng, INTERFACE_UM) / step_um
    if kind in ("domains", "graded"):
        levels = rng.uniform(0.0, 1.0, size=int(rng.integers(2, 5)))
        image = np.full(shape, levels[0])
        for level in levels[1:]:
            field = gaussian_random_field(shape, correlation_px, rng)
            inside = smooth_indicator(field, np.quantile(field, rng.uniform(0.3, 0.9)), interface_px)
            image = image * (1.0 - inside) + level * inside
        if kind == "graded":
            angle = rng.uniform(0.0, 2.0 * np.pi)
            rows, cols = np.mgrid[0 : shape[0], 0 : shape[1]]
            along = np.cos(angle) * cols + np.sin(angle) * rows
            ramp = (along - along.min()) / max(np.ptp(along), 1e-12)
            weight = rng.uniform(0.2, 0.8)
            image = (1.0 - weight) * image + weight * ramp * rng.uniform(0.0, 1.0)
    elif kind == "field":
        field = gaussian_random_field(shape, correlation_px, rng)
        # a monotone bend of the Gaussian values: skewed abundances as well as symmetric ones
        image = 1.0 / (1.0 + np.exp(-rng.uniform(0.5, 3.0) * field + rng.normal()))
    elif kind == "inclusions":
        rows, cols = np.mgrid[0 : shape[0], 0 : shape[1]].astype(np.float64)
        image = np.full(shape, rng.uniform(0.0, 1.0))
        area = shape[0] * shape[1]
        radius_mean = max(correlation_px / 2.0, 1.0)
        for _ in range(int(rng.integers(1, 2 + min(40, area // int(4 * radius_mean**2 + 1))))):
            centre = rng.uniform(0.0, 1.0, size=2) * shape
            radii = radius_mean * rng.uniform(0.4, 1.6, size=2)
            angle = rng.uniform(0.0, np.pi)
            dy, dx = rows - centre[0], cols - centre[1]
            u = (np.cos(angle) * dx + np.sin(angle) * dy) / radii[0]
            v = (-np.sin(angle) * dx + np.cos(angle) * dy) / radii[1]
            distance = (1.0 - np.hypot(u, v)) * radii.min()
            inside = 0.5 * (1.0 + np.tanh(distance / max(interface_px, 1e-3)))
            image = image * (1.0 - inside) + rng.uniform(0.0, 1.0) * inside
    else:
        raise ValueError(f"unknown morphology {kind!r}; known: {list(KINDS)}")
    low, high = image.min(), image.max()
    return (image - low) / (high - low) if high > low else np.zeros(shape)


def _window_objects(highres_windows, n, object_size, rng):
    """``n`` objects cut from the measured windows: a random flip, quarter turns and whole-pixel shift each."""
    objects = []
    for _ in range(n):
        window = np.asarray(highres_windows[int(rng.integers(len(highres_windows)))], dtype=np.float64)
        if rng.integers(2):
            window = window[:, ::-1]
        window = np.rot90(window, int(rng.integers(4)))
        top = int(rng.integers(window.shape[0] - object_size + 1))
        left = int(rng.integers(window.shape[1] - object_size + 1))
        objects.append(window[top : top + object_size, left : left + object_size])
    return objects


def synthetic_pairs(
    highres_windows, imaging, n_pairs, *, morphologies=0.5, kinds=KINDS, size=24, edge=2, jitter=0.0, seed=0
):
    """Exactly aligned LR/HR pairs: measured windows and synthetic morphologies through the imaging model.

    Parameters
    ----------
    highres_windows : sequence of ndarray (H, W)
        The measured HR windows (on the LR maps' scale); none: synthetic morphologies only.
    imaging : ImagingModel
    n_pairs : int
    morphologies : float
        The share of synthetic morphologies; the rest are measured windows.
    kinds : sequence of str
        The morphologies drawn from (:data:`KINDS`), in equal shares.
    size : int
        LR points per side of every pair's LR map.
    edge : int
        LR points between the HR window and the map's border.
    jitter : float
        0: exactly aligned pairs. Else each target is moved by a random offset, uniform in
        [-jitter, jitter] HR pixels along each axis (cubic spline): the misalignment of the registered
        pairs, whose window corners are rounded to whole HR pixels (:func:`ramansr.pairs.window_positions`,
        up to 0.5) and as the scores round them (:func:`ramansr.metrics.crop_window`).
    seed : int

    Returns
    -------
    PairSet
        LR maps (n, 1, size, size), HR windows (n, 1, factor (size - 2 edge), ...), every corner at
        (factor edge, factor edge); ``pair_ids`` ``window_{i}`` and ``{kind}_{i}``.
    """
    factor = imaging.factor
    object_size = factor * size
    if size - 2 * edge < 1:
        raise ValueError(f"an LR map of {size} points leaves no window inside an edge of {edge}")
    windows = [w for w in (highres_windows if highres_windows is not None else []) if min(w.shape) >= object_size]
    if not windows:
        morphologies = 1.0
    unknown = sorted(set(kinds) - set(KINDS))
    if unknown:
        raise ValueError(f"unknown morphologies {unknown}; known: {list(KINDS)}")
    rng = np.random.default_rng(seed)
    n_synthetic = round(n_pairs * float(morphologies))
    measured = _window_objects(windows, n_pairs - n_synthetic, object_size, rng) if n_pairs > n_synthetic else []
    drawn = [kinds[i % len(kinds)] for i in range(n_synthetic)]
    synthetic = [morphology(kind, (object_size, object_size), imaging.highres_step_um, rng) for kind in drawn]
    lowres, targets = [], []
    if len(measured):
        # measured windows already carry the HR blur: they are their own targets
        measured = np.stack(measured).astype(np.float32)  # as the pair set stores them: its LR maps are theirs
        lowres.append(imaging.lowres(measured, rng))
        targets.append(measured)
    if synthetic:
        lowres.append(imaging.lowres(np.stack(synthetic), rng))
        targets.append(imaging.highres(np.stack(synthetic)))
    inner = slice(factor * edge, object_size - factor * edge)
    highres = np.concatenate(targets)
    if jitter:
        offsets = rng.uniform(-jitter, jitter, size=(len(highres), 2))
        highres = np.stack([ndimage.shift(t, o, order=3, mode="mirror") for t, o in zip(highres, offsets, strict=True)])
    highres = highres[:, inner, inner]
    ids = [f"window_{i}" for i in range(len(measured))] + [f"{kind}_{i}" for i, kind in enumerate(drawn)]
    positions = np.full((len(ids), 2), factor * edge, dtype=np.float64)
    return PairSet(np.concatenate(lowres), highres, positions, ids, factor)
