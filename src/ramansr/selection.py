"""Keep the component maps that hold real spatial signal (a Fourier-space test).

A map of pure noise has a flat (white) power spectrum; a map of domains has
its power at low spatial frequencies. The test compares the mean power in a
low-frequency band with the white-noise floor measured in the
highest-frequency band, in decibels.

Data contract: maps are float32 (k, rows, cols); frequencies are in cycles per
pixel (Nyquist = 0.5).
"""

import numpy as np

from ramansr.io_utils import load_npz, write_json


def radial_power_spectrum(image):
    """2-D power spectrum of a mean-removed, Hann-windowed map, and each bin's radial frequency.

    Returns
    -------
    power : ndarray, shape (rows, cols)
    frequency : ndarray, shape (rows, cols)
        Radial spatial frequency of each bin, in cycles per pixel.
    """
    image = np.asarray(image, dtype=float)
    rows, cols = image.shape
    # The window stops the map's edges from leaking power into every frequency.
    window = np.outer(np.hanning(rows), np.hanning(cols))
    power = np.abs(np.fft.fft2((image - image.mean()) * window)) ** 2
    fy = np.fft.fftfreq(rows)[:, None]
    fx = np.fft.fftfreq(cols)[None, :]
    return power, np.hypot(fx, fy)


def spectral_snr_db(image, low_band=(0.0, 0.1), noise_band=(0.3, 0.5)):
    """Mean power at low frequencies over mean power in the noise band, in dB.

    White noise scores about 0 dB; structured maps score far above.
    """
    power, frequency = radial_power_spectrum(image)
    low = power[(frequency > low_band[0]) & (frequency <= low_band[1])]
    noise = power[(frequency > noise_band[0]) & (frequency <= noise_band[1])]
    floor = noise.mean()
    if floor <= 0:  # a constant map: no noise, and no signal either
        return 0.0 if low.mean() <= 0 else float("inf")
    return float(10 * np.log10(low.mean() / floor))


def select_components(lr_maps, hr_maps, min_snr_db=10.0, low_band=(0.0, 0.1), noise_band=(0.3, 0.5)):
    """Decide, per component, whether both its LR and its HR map carry signal.

    Returns
    -------
    list of dict
        One entry per component: component, lr_snr_db, hr_snr_db, keep.
    """
    decisions = []
    for index, (lr_map, hr_map) in enumerate(zip(lr_maps, hr_maps)):
        lr_snr = spectral_snr_db(lr_map, low_band, noise_band)
        hr_snr = spectral_snr_db(hr_map, low_band, noise_band)
        decisions.append(
            {
                "component": index,
                "lr_snr_db": lr_snr,
                "hr_snr_db": hr_snr,
                "keep": bool(lr_snr >= min_snr_db and hr_snr >= min_snr_db),
            }
        )
    return decisions


def select_area_file(nmf_path, out_path, min_snr_db=10.0, low_band=(0.0, 0.1), noise_band=(0.3, 0.5)):
    """The ``select`` stage for one area: JSON with a keep decision per component."""
    nmf = load_npz(nmf_path)
    components = select_components(nmf["lowres_maps"], nmf["highres_maps"], min_snr_db, low_band, noise_band)
    settings = {"min_snr_db": min_snr_db, "low_band": list(low_band), "noise_band": list(noise_band)}
    write_json({"components": components, "settings": settings}, out_path)
