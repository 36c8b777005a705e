"""Figs. S2 and S3: the radially averaged power of the kept against the rejected component maps."""

import json
from pathlib import Path

import numpy as np

from ramansr.figure_style import KEPT_COLOR, REJECTED_COLOR, new_figure, save_figure
from ramansr.io_utils import load_npz
from ramansr.selection import radial_power_spectrum


def radial_profile(image):
    """Radially averaged power spectrum of a map.

    Returns
    -------
    frequency : ndarray
        Bin centres in cycles per pixel, up to Nyquist (0.5).
    power : ndarray
        Mean power per ring.
    """
    power, frequency = radial_power_spectrum(image)
    n = min(image.shape)
    rings = np.round(frequency * n).astype(int).ravel()
    totals = np.bincount(rings, weights=power.ravel())
    counts = np.bincount(rings)
    keep = (np.arange(len(counts)) > 0) & (np.arange(len(counts)) <= n // 2) & (counts > 0)
    return np.arange(len(counts))[keep] / n, totals[keep] / counts[keep]


def power_over_floor_db(frequency, power, noise_band):
    """A radial profile in dB over its mean in the noise band (the selection's noise floor)."""
    in_band = (frequency > noise_band[0]) & (frequency <= noise_band[1])
    floor = power[in_band].mean() if in_band.any() and power[in_band].mean() > 0 else 1.0
    return 10 * np.log10(np.maximum(power, 1e-30) / floor)


def plot_fourier_selection(nmf_paths, selection_paths, scan, out_paths):
    """Figs. S2 (LR maps) and S3 (HR maps): radial power of kept against rejected components.

    Parameters
    ----------
    nmf_paths, selection_paths : sequences of path-like
        Every area's decomposition and selection files, aligned.
    scan : {"lowres", "highres"}
    out_paths : sequence of path-like
    """
    fig, axes = new_figure(1, 1, panel_size=(6.0, 4.0))
    ax = axes[0, 0]
    counts = {True: 0, False: 0}
    settings = {}
    for nmf_path, selection_path in zip(nmf_paths, selection_paths, strict=True):
        maps = load_npz(nmf_path)[f"{scan}_maps"]
        selection = json.loads(Path(selection_path).read_text())
        settings = selection["settings"]
        for decision in selection["components"]:
            frequency, power = radial_profile(maps[decision["component"]])
            keep = bool(decision["keep"])
            ax.plot(
                frequency,
                power_over_floor_db(frequency, power, settings["noise_band"]),
                color=KEPT_COLOR if keep else REJECTED_COLOR,
                alpha=0.55,
                linewidth=1.0,
                label=None if counts[keep] else ("kept" if keep else "rejected"),
            )
            counts[keep] += 1
    decorate_fourier_axes(ax, settings, counts)
    scan_name = {"lowres": "LR", "highres": "HR"}.get(scan, scan)
    ax.set_title(f"Radially averaged power of the {scan_name} component maps")
    save_figure(fig, out_paths)


def decorate_fourier_axes(ax, settings, counts):
    """Bands, threshold, labels and legend of a Fourier-selection panel."""
    ax.axvspan(*settings["low_band"], color="0.82", zorder=0, label="signal band")
    ax.axvspan(*settings["noise_band"], color="#fde0c5", zorder=0, label="noise band")
    ax.axhline(
        settings["min_snr_db"],
        color="0.3",
        linestyle="--",
        linewidth=1,
        label=f"threshold {settings['min_snr_db']:g} dB",
    )
    ax.set_xlim(0, 0.5)
    ax.set_xlabel("spatial frequency (cycles per pixel)")
    ax.set_ylabel("power over the noise floor (dB)")
    summary = f"{counts[True]} kept, {counts[False]} rejected"
    if counts[False] == 0:
        summary += "\n(no component was\nrejected in any area)"
    ax.legend(frameon=False, loc="upper left", bbox_to_anchor=(1.01, 1.0), title=summary, alignment="left")
