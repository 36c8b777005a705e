"""The uncertainty's raw parts: the equivariant bootstrap's spread and the SR map's gradient magnitude."""

import numpy as np
from scipy import ndimage

#: Each draw's transform: quarter turns, mirror, and a shift in SR pixels (rows, cols).
DIHEDRAL = [(turns, mirror) for turns in range(4) for mirror in (False, True)]

#: The parts of the uncertainty, in the order of :func:`uncertainty_parts`.
PARTS = ("bootstrap", "gradient")

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


def bootstrap_draws(sr_maps, lowres_maps, super_resolve, imaging, draws=8, seed=0, noise_scale=0.0):
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
        ``functools.partial(ramansr.optics.reimage_lowres, factor=4, lowres_step_um=2.0, ...)``.
    draws : int
    seed : int
    noise_scale : float
        The draws' noise over the level measured on the LR maps (:func:`noise_level`); 0, the
        default, adds none: the transforms' spread alone, which ranked the default run's test maps'
        errors best (the measured level reads the LR maps' aliased detail as noise too).

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


def gradient_magnitude(maps):
    """The gradient magnitude of each map, per pixel (Sobel, in the maps' units per pixel).

    Parameters
    ----------
    maps : ndarray, (k, H, W)

    Returns
    -------
    ndarray of float32, (k, H, W)
    """
    maps = np.asarray(maps, dtype=np.float64)
    # Sobel's derivative is 8x the central difference's, over two pixels
    return np.stack([np.hypot(ndimage.sobel(m, axis=0), ndimage.sobel(m, axis=1)) / 8.0 for m in maps]).astype(
        np.float32
    )


def uncertainty_parts(sr_maps, lowres_maps, super_resolve, imaging, draws=8, seed=0, noise_scale=0.0):
    """The raw parts of the uncertainty: the bootstrap's spread and the gradient magnitude.

    Parameters
    ----------
    sr_maps, lowres_maps, super_resolve, imaging, draws, seed, noise_scale
        See :func:`bootstrap_draws`.

    Returns
    -------
    ndarray of float32, (2, k, factor h, factor w)
        In the order of ``PARTS``.
    """
    draws = bootstrap_draws(sr_maps, lowres_maps, super_resolve, imaging, draws, seed, noise_scale)
    return np.stack([spread(sr_maps, draws), gradient_magnitude(sr_maps)])


def window_region(lowres_map, position, window, factor, margin):
    """The LR region under an HR window plus ``margin`` LR pixels, and the window's corner in its SR map.

    Scoring an uncertainty needs it on the window only; the networks' and the
    PSF's reach is a few LR pixels, so the region's SR map and its draws match
    the whole map's there, at a fraction of the cost.

    Parameters
    ----------
    lowres_map : ndarray, (h, w)
    position : (X, Y)
        The window's corner in the upscaled LR grid (``pairs.npz``'s ``position``).
    window : (int, int)
        The window's shape (HR pixels).
    factor, margin : int

    Returns
    -------
    region : ndarray, (h', w')
    corner : (int, int)
        (X, Y) of the window in the region's SR map.
    """
    x, y = (round(float(v)) for v in position)
    rows, cols = np.shape(lowres_map)
    r0, c0 = max(y // factor - margin, 0), max(x // factor - margin, 0)
    r1 = min(-(-(y + window[0]) // factor) + margin, rows)
    c1 = min(-(-(x + window[1]) // factor) + margin, cols)
    return np.asarray(lowres_map)[r0:r1, c0:c1], (x - factor * c0, y - factor * r0)


def window_parts(pairs, indices, super_resolve, imaging, draws=8, noise_scale=0.0, margin=12, seed=0):
    """SR maps and the uncertainty's parts (:func:`uncertainty_parts`) of pairs, on their HR windows.

    Parameters
    ----------
    pairs : mapping
        ``pairs.npz``'s contents (``lowres``, ``highres``, ``position``, ``factor``).
    indices : sequence of int
        The pairs to do.
    super_resolve, imaging : callable
        See :func:`bootstrap_draws`.
    draws : int
    noise_scale : float
    margin, seed : int
        ``margin``: of :func:`window_region`; pair ``i`` draws with seed ``seed + i``.

    Returns
    -------
    sr : ndarray of float32, (len(indices), H, W)
    parts : ndarray of float32, (len(PARTS), len(indices), H, W)
    """
    from ramansr.metrics import crop_window

    factor = int(pairs["factor"])
    window = pairs["highres"].shape[1:]
    sr_windows, part_windows = [], []
    for i in indices:
        region, corner = window_region(pairs["lowres"][i], pairs["position"][i], window, factor, margin)
        sr = super_resolve(region[None])
        parts = uncertainty_parts(sr, region[None], super_resolve, imaging, draws, seed + int(i), noise_scale)
        sr_windows.append(crop_window(sr[0], corner, window))
        part_windows.append([crop_window(part[0], corner, window) for part in parts])
    if not sr_windows:
        return np.empty((0, *window), np.float32), np.empty((len(PARTS), 0, *window), np.float32)
    return np.stack(sr_windows), np.stack(part_windows, axis=1)
