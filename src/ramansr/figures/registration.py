"""Fig. 3: template matching of an area's HR maps in its upscaled LR maps."""

import json
from pathlib import Path

from ramansr.figure_style import CORRELATION_CMAP, draw_window, new_figure, save_figure, show_map
from ramansr.figures import pixel_size_from_spectra
from ramansr.io_utils import load_npz
from ramansr.register import match_window, upscale


def registration_components(registration, selection, count=2):
    """The components shown in Fig. 3: kept ones first, then by peak correlation."""
    kept = {c["component"]: c["keep"] for c in selection["components"]}
    ranked = sorted(registration["components"], key=lambda c: (not kept.get(c["component"], False), -c["peak"]))
    return [c["component"] for c in ranked[:count]]


def plot_registration(nmf_path, registration_path, selection_path, spectra_path, out_paths, title=""):
    """Fig. 3: template matching of the HR maps in the upscaled LR maps, for two components.

    Each row: the upscaled LR map with the consensus window (red), the HR map
    (the template), and the normalised cross-correlation with its peak marked.

    Parameters
    ----------
    nmf_path, registration_path, selection_path : path-like
        One area's decomposition, registration and selection files.
    spectra_path : path-like
        The area's LR spectra file (for the pixel size).
    out_paths : sequence of path-like
    title : str

    The SR factor and the interpolation are the register stage's (its JSON's settings).
    """
    nmf = load_npz(nmf_path)
    registration = json.loads(Path(registration_path).read_text())
    factor, interpolation = registration["settings"]["factor"], registration["settings"]["interpolation"]
    selection = json.loads(Path(selection_path).read_text())
    upscaled_pixel = pixel_size_from_spectra(spectra_path) / factor
    components = registration_components(registration, selection)
    fig, axes = new_figure(len(components), 3, panel_size=(3.3, 3.0))
    for row, component in enumerate(components):
        lr_map, hr_map = nmf["lowres_maps"][component], nmf["highres_maps"][component]
        (x, y), peak, correlation = match_window(lr_map, hr_map, factor, interpolation)
        height, width = hr_map.shape
        show_map(
            axes[row, 0],
            upscale(lr_map, factor, interpolation),
            f"Component {component}: LR, {factor}x upscaled",
            upscaled_pixel,
            colorbar_label="abundance",
        )
        draw_window(axes[row, 0], registration["X"] - 0.5, registration["Y"] - 0.5, width, height)
        show_map(axes[row, 1], hr_map, "HR map (template)", upscaled_pixel, colorbar_label="abundance")
        show_map(
            axes[row, 2],
            correlation,
            f"Correlation, peak {peak:.2f}",
            upscaled_pixel,
            colorbar_label="normalised cross-correlation",
            cmap=CORRELATION_CMAP,
            vmin=-1,
            vmax=1,
        )
        axes[row, 2].plot(x, y, marker="+", color="cyan", markersize=14, markeredgewidth=2)
    where = " ".join(filter(None, ["Template matching", title]))
    fig.suptitle(f"{where}: window at X = {registration['X']:.1f}, Y = {registration['Y']:.1f} (upscaled px)")
    save_figure(fig, out_paths)
