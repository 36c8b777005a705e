"""The imaging model: an objective's PSF, and its defaults where neither the scans nor the config give them.

The simulator (:mod:`ramansr.simulate.acquisition`), the LR consistency check
(:mod:`ramansr.prediction.consistency`) and the Wiener baseline (:mod:`ramansr.models.wiener`) all
image with :func:`airy_otf` and :func:`blur`, so the three agree on what an objective does.

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
