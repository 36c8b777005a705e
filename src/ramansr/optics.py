"""The imaging model: an objective's PSF, and its defaults where neither the scans nor the config give them.

The simulator (:mod:`ramansr.simulate.acquisition`), the LR consistency check
(:mod:`ramansr.prediction.consistency`) and the Wiener baseline (:mod:`ramansr.models.wiener`) all
image with :func:`airy_otf` and :func:`blur`, so the three agree on what an objective does;
:func:`reimage_lowres` is the LR scan's imaging of a map on the SR grid, which the consistency
check, the synthetic training pairs (:mod:`ramansr.synthetic`) and the uncertainty share.

Grid convention (:mod:`ramansr.register`): SR pixel ``j`` sits at LR point
``(j + 0.5) / factor - 0.5``, so LR point ``p`` is SR pixel
``factor * p + (factor - 1) / 2``, between two pixels for an even factor.

The defaults: a 20x/0.5 LR objective, a 50x/0.8 HR objective (the paper's pair) and a 532 nm laser.
The consistency check and the Wiener baseline use them for your own scans unless ``predict:
lowres_na``, ``highres_na`` and ``excitation_nm`` say otherwise. The workflow reads them at parse
time, so this module imports only numpy at its top.
"""

import numpy as np

DEFAULT_LOWRES_NA = 0.5
DEFAULT_HIGHRES_NA = 0.8
DEFAULT_EXCITATION_NM = 532.0


def airy_otf(shape, step_um, wavelength_um, na):
    """Incoherent optical transfer function of a circular pupil (rfft layout).

    ``OTF(f) = 2/pi * (arccos(u) - u * sqrt(1 - u**2))``, ``u = f / (2 NA / lambda)``:
    the exact Fourier transform of the Airy intensity PSF.
    """
    import scipy.fft  # here, not at the top: the workflow imports the constants at parse time

    fy = scipy.fft.fftfreq(shape[0], d=step_um)[:, None]
    fx = scipy.fft.rfftfreq(shape[1], d=step_um)[None, :]
    u = np.minimum(np.hypot(fx, fy) / (2.0 * na / wavelength_um), 1.0)
    return (2.0 / np.pi) * (np.arccos(u) - u * np.sqrt(1.0 - u**2))


def blur(maps, otf):
    """Convolve each map with the PSF whose transfer function is ``otf``."""
    import scipy.fft

    spectrum = scipy.fft.rfft2(maps, axes=(-2, -1))
    return scipy.fft.irfft2(spectrum * otf, s=maps.shape[-2:], axes=(-2, -1))


def mirrored_blur(maps, step_um, wavelength_um, na):
    """Blur maps with an objective's Airy PSF, mirrored at their edges so the FFT's wrap-around does not
    mix opposite borders.

    Parameters
    ----------
    maps : ndarray, (k, rows, cols)
    step_um : float
        The maps' pixel size.
    wavelength_um, na : float

    Returns
    -------
    ndarray of float64, (k, rows, cols)
    """
    maps = np.asarray(maps, dtype=np.float64)
    rows, cols = maps.shape[1:]
    # the Airy PSF is negligible beyond 2 lambda / NA (its fourth dark ring)
    pad = min(int(np.ceil(2.0 * wavelength_um / na / step_um)), rows - 1, cols - 1)
    padded = np.pad(maps, ((0, 0), (pad, pad), (pad, pad)), mode="reflect")
    otf = airy_otf(padded.shape[1:], step_um, wavelength_um, na)
    return blur(padded, otf)[:, pad : pad + rows, pad : pad + cols]


def reimage_lowres(sr_maps, factor, *, lowres_step_um, na, wavelength_um):
    """Image super-resolved maps as the LR scan would: blur with the LR PSF, sample at the LR points.

    The PSF is the incoherent Airy PSF of the LR objective
    (:func:`airy_otf`, the simulator's own), on
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
        blurred = mirrored_blur(sr_maps, lowres_step_um / factor, wavelength_um, na)
    lr_rows = factor * np.arange(rows // factor) + (factor - 1) / 2
    lr_cols = factor * np.arange(cols // factor) + (factor - 1) / 2
    grid = np.meshgrid(lr_rows, lr_cols, indexing="ij")
    from scipy import ndimage  # here: the workflow imports this module's constants at parse time

    sampled = [ndimage.map_coordinates(image, grid, order=3, mode="nearest") for image in blurred]
    return np.stack(sampled).astype(np.float32)
