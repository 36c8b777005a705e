"""Keep the component maps that hold real spatial signal (a Fourier-space test).

A map of pure noise has a flat (white) power spectrum; a map of domains has
its power at low spatial frequencies. The test compares the mean power in a
low-frequency band with the white-noise floor measured in the
highest-frequency band, in decibels.

A second test catches an HR map that collapsed: the HR map is on its LR map's
scale (the HR cube goes through the LR-fitted NMF model on the LR scan's
channel scale), so an HR map whose contrast is a small fraction of that of the
LR map under the registered window, while the LR map shows the component
there, lost it to an intensity mismatch between the scans (a detector offset
or a background left in one of them), not to the specimen. A window that lies
in one phase, where the LR map is flat too, is no collapse.

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


def spectral_snr_db(image, *, low_band, noise_band):
    """Mean power at low frequencies over mean power in the noise band, in dB.

    White noise scores about 0 dB; structured maps score far above. ``low_band`` and ``noise_band``
    (cycles per pixel) are the config's ``select:`` bands.

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


def map_contrast(image):
    """A map's contrast: its 99th minus its 1st percentile (robust to a few outlier pixels)."""
    low, high = np.percentile(image, [1.0, 99.0])
    return float(high - low)


def select_components(lr_maps, hr_maps, *, min_snr_db, low_band, noise_band, min_hr_contrast, window):
    """Decide, per component, whether both its LR and its HR map carry signal.

    Parameters
    ----------
    lr_maps, hr_maps : ndarray, (k, rows, cols)
        An area's maps, the HR ones on the LR maps' scale.
    min_snr_db : float
        The Fourier test's threshold, for each map.
    low_band, noise_band : (float, float)
        Cycles per pixel.
    min_hr_contrast : float
        An HR map whose contrast (:func:`map_contrast`) is below this fraction of the LR
        map's under the window, while the LR map passes the Fourier test and shows the
        component under the window (its contrast there at least this fraction of the whole
        LR map's), has collapsed.
    window : (position, factor)
        The registered window's corner (X, Y) in the LR map upscaled by ``factor``.

    Returns
    -------
    list of dict
        One entry per component: component, lr_snr_db, hr_snr_db,
        hr_lr_contrast (the HR map's contrast over the LR map's under the window), collapsed,
        keep, and reason (why it is dropped; empty when kept). A blank
        (constant) map scores 0 dB.
    """
    from ramansr.metrics import crop_window
    from ramansr.register import upscale

    position, factor = window
    tiny = np.finfo(np.float32).tiny
    decisions = []
    for index, (lr_map, hr_map) in enumerate(zip(lr_maps, hr_maps, strict=True)):
        lr_snr = spectral_snr_db(lr_map, low_band=low_band, noise_band=noise_band)
        hr_snr = spectral_snr_db(hr_map, low_band=low_band, noise_band=noise_band)
        under_window = map_contrast(crop_window(upscale(lr_map, factor), position, hr_map.shape))
        contrast_ratio = map_contrast(hr_map) / max(under_window, tiny)
        shown = under_window >= min_hr_contrast * map_contrast(lr_map)
        collapsed = lr_snr >= min_snr_db and shown and contrast_ratio < min_hr_contrast
        reasons = [
            f"{scan} map {snr:.1f} dB < min_snr_db {min_snr_db:g}"
            for scan, snr in (("LR", lr_snr), ("HR", hr_snr))
            if not snr >= min_snr_db
        ]
        if collapsed:
            reasons.insert(
                0,
                f"HR map collapsed: its contrast is {contrast_ratio:.3f} of the LR map's under the window "
                f"(< min_hr_contrast {min_hr_contrast:g})",
            )
        decisions.append(
            {
                "component": index,
                "lr_snr_db": lr_snr,
                "hr_snr_db": hr_snr,
                "hr_lr_contrast": contrast_ratio,
                "collapsed": bool(collapsed),
                "keep": not reasons,
                "reason": "; ".join(reasons),
            }
        )
    return decisions


def select_area_file(
    nmf_path,
    registration_path,
    out_path,
    *,
    min_snr_db,
    low_band,
    noise_band,
    min_hr_contrast,
):
    """The ``select`` stage for one area: JSON with a keep decision per component.

    The thresholds are the config's ``select:`` entries (see :func:`select_components`).
    """
    nmf = load_npz(nmf_path)
    registration = read_json(registration_path)
    window = ((registration["X"], registration["Y"]), registration["settings"]["factor"])
    try:
        components = select_components(
            nmf["lowres_maps"],
            nmf["highres_maps"],
            min_snr_db=min_snr_db,
            low_band=low_band,
            noise_band=noise_band,
            min_hr_contrast=min_hr_contrast,
            window=window,
        )
    except ValueError as error:
        raise ValueError(f"{nmf_path}: {error}") from error
    for decision in components:
        if not decision["keep"]:
            print(f"{nmf_path}: component {decision['component']} dropped: {decision['reason']}", file=sys.stderr)
    settings = {
        "min_snr_db": min_snr_db,
        "low_band": list(low_band),
        "noise_band": list(noise_band),
        "min_hr_contrast": min_hr_contrast,
    }
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
        sample, area, component, lr_snr_db, hr_snr_db, hr_lr_contrast, collapsed,
        registration_confidence, kept, reason.
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
            "hr_lr_contrast": decision["hr_lr_contrast"],
            "collapsed": decision["collapsed"],
            "registration_confidence": registration["confidence"],
            "kept": decision["keep"],
            "reason": decision.get("reason", ""),
        }
        for (sample, area), selection, registration in zip(areas, selections, registrations, strict=True)
        for decision in selection["components"]
    ]
    return pd.DataFrame(
        rows,
        columns=[
            "sample",
            "area",
            "component",
            "lr_snr_db",
            "hr_snr_db",
            "hr_lr_contrast",
            "collapsed",
            "registration_confidence",
            "kept",
            "reason",
        ],
    )


def check_collapse(table):
    """Stop the run when a specimen's HR maps collapse in every one of its areas.

    One collapsed HR map is a doubt, dropped and named; the same in every area of a sample is
    the processing failing on that specimen's scans (an offset or background the preprocessing
    did not remove), which would publish scores on what is left of it as if nothing happened.

    Raises
    ------
    ValueError
        Naming the samples, their collapsed maps' contrasts and what to check.
    """
    per_area = table.groupby(["sample", "area"], sort=False)["collapsed"].any()
    lost = [sample for sample, collapsed in per_area.groupby(level=0, sort=False) if collapsed.all()]
    if lost:
        rows = table[table["sample"].isin(lost) & table["collapsed"]]
        details = "; ".join(
            f"{row.sample}/{row.area} component {row.component}: HR contrast {row.hr_lr_contrast:.3f} of the LR map's"
            for row in rows.itertuples()
        )
        raise ValueError(
            f"HR component maps collapsed in every area of sample(s) {', '.join(map(str, lost))} ({details}): "
            "the HR scans' intensities do not match the LR scans' after preprocessing. Check preprocess: offset "
            "(a detector offset left in, or a wrong dark level) and preprocess: baseline (a fluorescence "
            "background left in one scan)"
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
    collapsed = table.loc[table["collapsed"]]
    if len(collapsed):
        lines += [
            "HR maps collapsed (contrast far below their LR map's, dropped): "
            + ", ".join(
                f"{row.sample}/{row.area} c{row.component} ({row.hr_lr_contrast:.3f})" for row in collapsed.itertuples()
            )
            + ".",
            "",
        ]
    dropped = table.loc[~table["kept"], ["sample", "area", "component", "registration_confidence", "reason"]]
    if len(dropped):
        lines += ["Dropped components:", "", dropped.to_markdown(index=False, floatfmt=".2f")]
    return "\n".join(lines) + "\n"


def selection_table_file(areas, selection_paths, registration_paths, csv_path, md_path):
    """The ``selection_table`` stage: ``selection_table`` as CSV and Markdown; :func:`check_collapse` after."""
    table = selection_table(
        [tuple(area) for area in areas],
        [read_json(p) for p in selection_paths],
        [read_json(p) for p in registration_paths],
    )
    check_collapse(table)
    write_csv(table, csv_path)
    write_text(selection_markdown(table), md_path)
