"""One simulated area from start to finish: the LR scan, the HR scan and their truth, in memory and as files."""

import json

import numpy as np

from ramansr.io import Scan, write_scan
from ramansr.simulate.acquisition import detect, draw_window, intensity_scales, laser_drift, sampled_abundances
from ramansr.simulate.settings import area_seed_sequence, resolve_settings, scan_offset, sr_factor
from ramansr.simulate.spectra import COMPONENTS, background_spectra, phase_spectra, spectrometer_axis
from ramansr.truth import clean_cube, write_truth

#: Acquisition date (ISO 8601) written into the scans: same seed, same bytes.
ACQUISITION_DATE = "2024-01-01T09:00:00"

#: Label of each scan in its WITec export name.
SCAN_LABELS = {"lowres": "LR", "highres": "HR"}


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
        ``phase_names``, per-scan ``*_scale``, ``*_drift`` and ``*_offset``
        (the detector's counts), the noise
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
        "lowres_offset": scan_offset(settings, "lowres"),
        "highres_offset": scan_offset(settings, "highres"),
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
    for which in ("lowres", "highres"):
        scans[which], truth[f"snr_{which}"], truth[f"{which}_spikes"] = detected_scan(
            truth, settings, which, rngs[which]
        )
    return scans["lowres"], scans["highres"], truth


def detected_scan(truth, settings, which, rng):
    """What the detector records of one scan of an area whose truth is ``truth``.

    Parameters
    ----------
    truth : dict
        The area's truth so far (everything but the achieved SNRs and the spikes).
    settings : dict
        Resolved simulation settings.
    which : {"lowres", "highres"}
    rng : numpy.random.Generator
        The scan's noise generator.

    Returns
    -------
    scan : ramansr.io.Scan
        float32 cube (rows, cols, channels) in counts: photoelectrons plus the detector's offset.
    snr : float
        Noise-free mean signal at ``truth["snr_channel"]`` over its noise standard deviation.
    spikes : ndarray of float32, shape (n, 4)
        The cosmic-ray spikes (row, col, channel, height).
    """
    clean = clean_cube(truth, which)
    mean_peak = float(clean[..., truth["snr_channel"]].mean())
    snr = mean_peak / np.sqrt(mean_peak + settings["read_noise"] ** 2)
    counts, spikes = detect(clean, settings["read_noise"], settings["spikes"], rng)
    # the CCD's bias and dark level: counts that do not scale with the light collected
    counts += np.float32(truth[f"{which}_offset"])
    meta = {
        # a fixed acquisition date keeps the export byte-reproducible
        "date": ACQUISITION_DATE,
        "sample": truth["sample"],
        "area": truth["area"],
        "objective_na": settings[which]["na"],
        "excitation_nm": settings["excitation_nm"],
        "simulated": True,
    }
    step = settings[which]["step_um"]
    name = f"Sample{truth['sample']}_Area{truth['area']}_{SCAN_LABELS[which]}_Spec.Data 1"
    return Scan(counts, truth["wavenumbers"], (step, step), name, meta), snr, spikes


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
