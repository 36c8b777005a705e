"""Fig. 2 (PCA against NMF of an area's LR scan) and Fig. S1 (the spectral smoothing at one pixel)."""

import numpy as np

from ramansr.figure_style import DIVERGING_CMAP, KEPT_COLOR, message_panel, new_figure, save_figure, show_map
from ramansr.figures import pixel_size_from_spectra
from ramansr.io_utils import load_npz


def plot_decomposition(nmf_path, pca_path, spectra_path, out_paths, title=""):
    """Fig. 2: PCA and NMF of one area's LR scan, maps and spectra side by side.

    Parameters
    ----------
    nmf_path, pca_path : path-like
        The decompose stage's files of one area.
    spectra_path : path-like
        The area's LR spectra file (for the pixel size).
    out_paths : sequence of path-like
    title : str
        Names the area in the figure's title.
    """
    nmf, pca = load_npz(nmf_path), load_npz(pca_path)
    pixel_size = pixel_size_from_spectra(spectra_path)
    n_rows = max(len(nmf["spectra"]), len(pca["spectra"]))
    fig, axes = new_figure(n_rows, 4, panel_size=(2.9, 2.3))
    explained = pca["explained_variance_ratio"]
    for row in range(n_rows):
        if row < len(pca["spectra"]):
            show_map(
                axes[row, 0],
                pca["maps"][row],
                f"PC {row + 1} ({100 * explained[row]:.1f} % var.)",
                pixel_size,
                colorbar_label="score",
                cmap=DIVERGING_CMAP,
                **symmetric_limits(pca["maps"][row]),
            )
            plot_spectrum(axes[row, 1], pca["wavenumbers"], pca["spectra"][row], f"PC {row + 1} loading", "loading")
        else:
            message_panel(axes[row, 0], "")
            message_panel(axes[row, 1], "")
        if row < len(nmf["spectra"]):
            show_map(
                axes[row, 2], nmf["lowres_maps"][row], f"NMF component {row}", pixel_size, colorbar_label="abundance"
            )
            plot_spectrum(
                axes[row, 3], nmf["wavenumbers"], nmf["spectra"][row], f"NMF component {row} spectrum", "intensity"
            )
        else:
            message_panel(axes[row, 2], "")
            message_panel(axes[row, 3], "")
    fig.suptitle(f"PCA (left) against NMF (right) of the LR scan {title}".strip())
    save_figure(fig, out_paths)


def symmetric_limits(image):
    """Colour limits centred on zero, for signed maps such as PCA scores."""
    extent = float(np.max(np.abs(image))) or 1.0
    return {"vmin": -extent, "vmax": extent}


def plot_spectrum(ax, wavenumbers, spectrum, title, ylabel):
    """One component spectrum against Raman shift."""
    ax.plot(wavenumbers, spectrum, color="0.15")
    ax.axhline(0, color="0.7", linewidth=0.8)
    ax.set_title(title)
    ax.set_xlabel("Raman shift (1/cm)")
    ax.set_ylabel(ylabel)


def plot_smoothing(lowres_spectra_path, highres_spectra_path, out_paths, title=""):
    """Fig. S1: the raw and the Savitzky-Golay smoothed spectrum at one pixel, LR and HR scans."""
    fig, axes = new_figure(1, 2, panel_size=(4.6, 3.2))
    for ax, path, scan in ((axes[0, 0], lowres_spectra_path, "LR"), (axes[0, 1], highres_spectra_path, "HR")):
        spectra = load_npz(path)
        row, col = np.asarray(spectra["pixel"]).tolist()
        ax.plot(spectra["wavenumbers"], spectra["raw"], color="0.65", linewidth=0.9, label="raw")
        ax.plot(spectra["wavenumbers"], spectra["smoothed"], color=KEPT_COLOR, label="Savitzky-Golay")
        ax.set_title(f"{scan} scan, pixel (row {row}, col {col})")
        ax.set_xlabel("Raman shift (1/cm)")
        ax.set_ylabel("intensity (counts)")
        ax.legend(frameon=False)
    fig.suptitle(f"Spectral smoothing {title}".strip())
    save_figure(fig, out_paths)
