"""Keep the component maps that hold real spatial signal (a Fourier-space test).

A map of pure noise has a flat (white) power spectrum; a map of domains has
its power at low spatial frequencies. The test compares the mean power in a
low-frequency band with the white-noise floor measured in the
highest-frequency band, in decibels.

Data contract: maps are float32 (k, rows, cols); frequencies are in cycles per
pixel (Nyquist = 0.5).
"""

import sys

import numpy as np

from ramansr.io_utils import load_npz, read_json, write_csv, write_json, write_text


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

    Raises
    ------
    ValueError
        When the map is too small for a band to hold any spatial frequency
        (a 1 x 1 map holds none), instead of a NaN score.
    """
    power, frequency = radial_power_spectrum(image)
    low = power[(frequency > low_band[0]) & (frequency <= low_band[1])]
    noise = power[(frequency > noise_band[0]) & (frequency <= noise_band[1])]
    for name, band, values in (("low_band", low_band, low), ("noise_band", noise_band, noise)):
        if values.size == 0:
            raise ValueError(
                f"a {power.shape[0]} x {power.shape[1]} map has no spatial frequency in "
                f"{name} {list(band)} (cycles per pixel): too small for the Fourier test"
            )
    floor = noise.mean()
    if floor <= 0:  # a constant map: no noise, and no signal either
        return 0.0 if low.mean() <= 0 else float("inf")
    return float(10 * np.log10(low.mean() / floor))


def select_components(lr_maps, hr_maps, min_snr_db=10.0, low_band=(0.0, 0.1), noise_band=(0.3, 0.5)):
    """Decide, per component, whether both its LR and its HR map carry signal.

    Returns
    -------
    list of dict
        One entry per component: component, lr_snr_db, hr_snr_db, keep, and
        reason (why it is dropped; empty when kept). A blank (constant) map
        scores 0 dB.
    """
    decisions = []
    for index, (lr_map, hr_map) in enumerate(zip(lr_maps, hr_maps, strict=True)):
        lr_snr = spectral_snr_db(lr_map, low_band, noise_band)
        hr_snr = spectral_snr_db(hr_map, low_band, noise_band)
        reasons = [
            f"{scan} map {snr:.1f} dB < min_snr_db {min_snr_db:g}"
            for scan, snr in (("LR", lr_snr), ("HR", hr_snr))
            if not snr >= min_snr_db
        ]
        decisions.append(
            {
                "component": index,
                "lr_snr_db": lr_snr,
                "hr_snr_db": hr_snr,
                "keep": not reasons,
                "reason": "; ".join(reasons),
            }
        )
    return decisions


def select_area_file(nmf_path, out_path, min_snr_db=10.0, low_band=(0.0, 0.1), noise_band=(0.3, 0.5)):
    """The ``select`` stage for one area: JSON with a keep decision per component."""
    nmf = load_npz(nmf_path)
    try:
        components = select_components(nmf["lowres_maps"], nmf["highres_maps"], min_snr_db, low_band, noise_band)
    except ValueError as error:
        raise ValueError(f"{nmf_path}: {error}") from error
    for decision in components:
        if not decision["keep"]:
            print(f"{nmf_path}: component {decision['component']} dropped: {decision['reason']}", file=sys.stderr)
    settings = {"min_snr_db": min_snr_db, "low_band": list(low_band), "noise_band": list(noise_band)}
    write_json({"components": components, "settings": settings}, out_path)


def selection_table(areas, selections, registrations):
    """Every component of every area: its scores, the area's registration confidence, kept or why not.

    Parameters
    ----------
    areas : sequence of (sample, area)
    selections, registrations : sequences of dict
        The ``select`` and ``register`` JSONs of each area, aligned with ``areas``.

    Returns
    -------
    pandas.DataFrame
        sample, area, component, lr_snr_db, hr_snr_db, registration_confidence, kept, reason.
    """
    # deferred: the per-area stages that import this module write no table and need no pandas
    import pandas as pd

    rows = [
        {
            "sample": sample,
            "area": area,
            "component": decision["component"],
            "lr_snr_db": decision["lr_snr_db"],
            "hr_snr_db": decision["hr_snr_db"],
            "registration_confidence": registration["confidence"],
            "kept": decision["keep"],
            "reason": decision.get("reason", ""),
        }
        for (sample, area), selection, registration in zip(areas, selections, registrations, strict=True)
        for decision in selection["components"]
    ]
    return pd.DataFrame(
        rows,
        columns=["sample", "area", "component", "lr_snr_db", "hr_snr_db", "registration_confidence", "kept", "reason"],
    )


def selection_markdown(table):
    """A summary line, the areas left out entirely, and each dropped component with its reason."""
    kept_areas = table.groupby(["sample", "area"], sort=False)["kept"].any()
    dropped_areas = [f"{sample}/{area}" for (sample, area), kept in kept_areas.items() if not kept]
    lines = [
        "### Component selection",
        "",
        f"{int(table['kept'].sum())} of {len(table)} components kept, from "
        f"{int(kept_areas.sum())} of {len(kept_areas)} areas.",
        "",
    ]
    if dropped_areas:
        lines += [f"Areas left out of the dataset (no component kept): {', '.join(dropped_areas)}.", ""]
    dropped = table.loc[~table["kept"], ["sample", "area", "component", "registration_confidence", "reason"]]
    if len(dropped):
        lines += ["Dropped components:", "", dropped.to_markdown(index=False, floatfmt=".2f")]
    return "\n".join(lines) + "\n"


def selection_table_file(areas, selection_paths, registration_paths, csv_path, md_path):
    """The ``selection_table`` stage: ``selection_table`` as CSV and Markdown."""
    table = selection_table(
        [tuple(area) for area in areas],
        [read_json(p) for p in selection_paths],
        [read_json(p) for p in registration_paths],
    )
    write_csv(table, csv_path)
    write_text(selection_markdown(table), md_path)
