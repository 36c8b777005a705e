"""Overview figure of one simulated area: where the HR window lies in the LR field, and the phase spectra."""

import json

from ramansr.bands import CH_BAND, band_image
from ramansr.io import read_scan
from ramansr.truth import read_truth


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
    from matplotlib.patches import Polygon

    from ramansr.figure_style import new_figure, save_figure

    lowres, highres, truth = read_scan(lowres_path), read_scan(highres_path), read_truth(truth_path)
    settings = json.loads(truth["settings"])
    fig, axes = new_figure(1, 3, panel_size=(5.3, 4.8), gridspec_kw={"width_ratios": [1, 1, 1.4]})
    axes = axes[0]

    lr_step, hr_step = settings["lowres"]["step_um"], settings["highres"]["step_um"]
    x0, y0 = truth["offset_um"]
    for ax, scan, step, (left, top), title in (
        (axes[0], lowres, lr_step, (0.0, 0.0), f"LR {settings['lowres']['na']} NA, {lr_step} um step"),
        (axes[1], highres, hr_step, (x0, y0), f"HR {settings['highres']['na']} NA, {hr_step} um step (LR frame)"),
    ):
        image = band_image(scan, CH_BAND)
        rows, cols = image.shape
        extent = (left - step / 2, left + (cols - 0.5) * step, top + (rows - 0.5) * step, top - step / 2)
        shown = ax.imshow(image, cmap="magma", extent=extent, interpolation="nearest")
        fig.colorbar(shown, ax=ax, label=f"counts, {CH_BAND[0]:.0f}-{CH_BAND[1]:.0f} 1/cm")
        ax.set_xlabel("x (um)")
        ax.set_ylabel("y (um)")
        ax.set_title(title)

    corners = truth["highres_positions_um"][[0, 0, -1, -1], [0, -1, -1, 0]]
    axes[0].add_patch(Polygon(corners, closed=True, fill=False, edgecolor="cyan", linewidth=1.5))
    axes[0].set_title(
        axes[0].get_title() + f"\nHR window at ({x0:.2f}, {y0:.2f}) um, {truth['rotation_deg']:+.2f} deg",
    )

    for name, spectrum in zip(truth["phase_names"], truth["spectra"], strict=True):
        axes[2].plot(truth["wavenumbers"], spectrum, linewidth=1.0, label=name)
    axes[2].set_xlabel("Raman shift (rel. 1/cm)")
    axes[2].set_ylabel("intensity per unit abundance (a.u.)")
    axes[2].set_title(f"Phase spectra, sample {truth['sample']} (polymer fraction {truth['polymer_fraction']:.2f})")
    axes[2].legend(frameon=False)
    fig.suptitle(f"Simulated sample {truth['sample']}, area {truth['area']}")
    save_figure(fig, [png_path])
