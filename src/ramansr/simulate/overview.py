"""Overview figure of one simulated area: where the HR window lies in the LR field, and the phase spectra."""

import json

import numpy as np

from ramansr.bands import CH_BAND
from ramansr.io import read_scan
from ramansr.io_utils import atomic_path
from ramansr.truth import read_truth


def _band_image(cube, wavenumbers, band):
    """Mean of ``cube`` over the channels inside ``band`` (rel. 1/cm)."""
    inside = (wavenumbers >= band[0]) & (wavenumbers <= band[1])
    if not inside.any():
        inside[np.argmin(np.abs(wavenumbers - np.mean(band)))] = True
    return cube[..., inside].mean(axis=-1)


def plot_overview(lowres_path, highres_path, truth_path, png_path):
    """Figure of one simulated area: LR and HR CH-band images, phase spectra.

    Parameters
    ----------
    lowres_path, highres_path : path-like
        WITec-format scans written by :func:`ramansr.simulate.write_area`.
    truth_path : path-like
        The matching truth file.
    png_path : path-like
        Output PNG (written atomically).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Polygon

    lowres, highres, truth = read_scan(lowres_path), read_scan(highres_path), read_truth(truth_path)
    settings = json.loads(truth["settings"])
    fig, axes = plt.subplots(1, 3, figsize=(16, 4.8), gridspec_kw={"width_ratios": [1, 1, 1.4]})

    lr_step, hr_step = settings["lowres"]["step_um"], settings["highres"]["step_um"]
    x0, y0 = truth["offset_um"]
    for ax, scan, step, (left, top), title in (
        (axes[0], lowres, lr_step, (0.0, 0.0), f"LR {settings['lowres']['na']} NA, {lr_step} um step"),
        (axes[1], highres, hr_step, (x0, y0), f"HR {settings['highres']['na']} NA, {hr_step} um step (LR frame)"),
    ):
        image = _band_image(scan.cube, scan.wavenumbers, CH_BAND)
        rows, cols = image.shape
        extent = (left - step / 2, left + (cols - 0.5) * step, top + (rows - 0.5) * step, top - step / 2)
        shown = ax.imshow(image, cmap="magma", extent=extent, interpolation="nearest")
        fig.colorbar(shown, ax=ax, label=f"mean counts {CH_BAND[0]:.0f}-{CH_BAND[1]:.0f} 1/cm")
        ax.set_xlabel("x (um)")
        ax.set_ylabel("y (um)")
        ax.set_title(title, fontsize=10)

    corners = truth["highres_positions_um"][[0, 0, -1, -1], [0, -1, -1, 0]]
    axes[0].add_patch(Polygon(corners, closed=True, fill=False, edgecolor="cyan", linewidth=1.5))
    axes[0].set_title(
        axes[0].get_title() + f"\nHR window at ({x0:.2f}, {y0:.2f}) um, {truth['rotation_deg']:+.2f} deg",
        fontsize=10,
    )

    for name, spectrum in zip(truth["phase_names"], truth["spectra"], strict=True):
        axes[2].plot(truth["wavenumbers"], spectrum, linewidth=1.0, label=name)
    axes[2].set_xlabel("Raman shift (rel. 1/cm)")
    axes[2].set_ylabel("intensity per unit abundance (a.u.)")
    axes[2].set_title(
        f"Phase spectra, sample {truth['sample']} (polymer fraction {truth['polymer_fraction']:.2f})", fontsize=10
    )
    axes[2].legend(frameon=False)
    fig.suptitle(f"Simulated sample {truth['sample']}, area {truth['area']}")
    fig.tight_layout()
    with atomic_path(png_path) as tmp:
        fig.savefig(tmp, dpi=120, format="png")
    plt.close(fig)
