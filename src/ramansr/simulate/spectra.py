"""Spectra of the simulated specimen: the spectrometer's axis, pure-component bands, phase spectra, fluorescence.

Each phase is a mixture of three pure components (surfactant, water,
polymer) whose spectra are sums of Voigt bands (Lorentzian line shape
convolved with the spectrometer's Gaussian slit function).
"""

import numpy as np
from scipy import special

from ramansr.bands import CH_BAND

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

#: Relative fluorescence yield of each pure component (impurities in the polymer).
FLUORESCENCE_YIELD = {"surfactant": 0.3, "water": 0.05, "polymer": 1.0}


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


#: The fluorescence band's peak above the laser line and its width (nm): with ``baseline: strength``
#: 0.3 the mean spectrum's background is 0.29 of the CH peak's height under the fingerprint (600-1000
#: rel. 1/cm) and 0.05 in the band-free 1900-2600, as in the real WITec export of ../shared/data/witec/
#: (0.29 and 0.05 over its estimated offset).
FLUORESCENCE_PEAK_ABOVE_LASER_NM, FLUORESCENCE_WIDTH_NM = 22.0, 18.0


def fluorescence_shape(wavenumbers, excitation_nm):
    """Broad fluorescence background, a Gaussian in wavelength just red of the laser line.

    Returns
    -------
    shape : ndarray of float64, shape (channels,), maximum 1 (at about 880 rel. 1/cm for 488 nm).
    """
    stokes_nm = 1e7 / (1e7 / excitation_nm - wavenumbers)
    peak_nm = excitation_nm + FLUORESCENCE_PEAK_ABOVE_LASER_NM
    return np.exp(-0.5 * ((stokes_nm - peak_nm) / FLUORESCENCE_WIDTH_NM) ** 2)


def ch_peak_channel(wavenumbers, mean_spectrum):
    """Channel of the CH-stretch maximum of ``mean_spectrum`` (within :data:`ramansr.bands.CH_BAND`).

    Falls back to the global maximum when the axis misses the CH band.
    """
    in_band = (wavenumbers >= CH_BAND[0]) & (wavenumbers <= CH_BAND[1])
    if not in_band.any():
        return int(np.argmax(mean_spectrum))
    candidates = np.flatnonzero(in_band)
    return int(candidates[np.argmax(mean_spectrum[candidates])])


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
