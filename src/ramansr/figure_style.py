"""The one style every figure of the project uses, its canvas and save helper, and map panels.

:func:`new_figure` gives a styled figure (:data:`STYLE`) with a 2-D grid of axes, :func:`save_figure`
writes it to PNG and/or PDF (format from each path's suffix) atomically; :func:`show_map` draws a map
with a scale bar in micrometres (in pixels when the pixel size is unknown). Imported by
:mod:`ramansr.figures`, :mod:`ramansr.rulegraph` and :mod:`ramansr.prediction.report`; it needs only
matplotlib (Agg backend) and numpy.
"""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from matplotlib import patheffects
from matplotlib.patches import Rectangle

from ramansr.io_utils import atomic_path

MAP_CMAP = "viridis"
CORRELATION_CMAP = "magma"
#: Signed values (PCA scores, residuals), drawn on a scale symmetric about zero.
DIVERGING_CMAP = "RdBu_r"
WINDOW_COLOR = "red"
KEPT_COLOR = "tab:blue"
REJECTED_COLOR = "tab:red"
STYLE = {
    "font.size": 10,
    "axes.titlesize": 10,
    "axes.labelsize": 10,
    "xtick.labelsize": 9,
    "ytick.labelsize": 9,
    "legend.fontsize": 9,
    "figure.titlesize": 12,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": False,
    "lines.linewidth": 1.4,
    "image.interpolation": "nearest",
    "savefig.dpi": 150,
    "pdf.fonttype": 42,
}


def apply_style():
    """Set the one style every figure of the project uses."""
    plt.rcParams.update(STYLE)


def new_figure(rows, cols, panel_size=(2.6, 2.4), **kwargs):
    """A styled figure with a grid of axes (always a 2-D array) and a constrained layout."""
    apply_style()
    fig, axes = plt.subplots(
        rows,
        cols,
        figsize=(panel_size[0] * cols, panel_size[1] * rows),
        squeeze=False,
        layout="constrained",
        **kwargs,
    )
    return fig, axes


def save_figure(fig, out_paths):
    """Write ``fig`` to every path (format from the suffix), atomically, then close it."""
    for path in map(Path, out_paths):
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format=path.suffix.lstrip("."), bbox_inches="tight", pad_inches=0.08)
    plt.close(fig)


def message_panel(ax, text):
    """Replace a panel's contents with a centred message (e.g. 'nothing to show')."""
    ax.set_axis_off()
    ax.text(0.5, 0.5, text, ha="center", va="center", wrap=True, transform=ax.transAxes)


def nice_length(maximum):
    """The largest of 1, 2, 5 x 10^n not above ``maximum`` (a scale bar's length)."""
    exponent = np.floor(np.log10(maximum))
    for mantissa in (5, 2, 1):
        if mantissa * 10**exponent <= maximum:
            return float(mantissa * 10**exponent)
    return float(10**exponent)


def add_scale_bar(ax, image_width_px, pixel_size_um):
    """A white, black-edged bar about a fifth of the map wide, labelled in um (px when the size is unknown)."""
    known = np.isfinite(pixel_size_um) and pixel_size_um > 0
    unit_per_px = pixel_size_um if known else 1.0
    length = nice_length(0.25 * image_width_px * unit_per_px)
    length_px = length / unit_per_px
    unit = "um" if known else "px"
    x0, y0 = ax.get_xlim()[0], ax.get_ylim()[0]  # image coordinates: y0 is the bottom edge
    height = abs(ax.get_ylim()[0] - ax.get_ylim()[1])
    left = x0 + 0.05 * image_width_px
    bottom = y0 - 0.06 * height
    outline = [patheffects.withStroke(linewidth=4.5, foreground="black")]
    ax.plot(
        [left, left + length_px],
        [bottom, bottom],
        color="white",
        linewidth=3,
        solid_capstyle="butt",
        path_effects=outline,
    )
    ax.text(
        left + length_px / 2,
        bottom - 0.03 * height,
        f"{length:g} {unit}",
        color="white",
        ha="center",
        va="bottom",
        fontsize=8,
        fontweight="bold",
        path_effects=[patheffects.withStroke(linewidth=2, foreground="black")],
    )


def show_map(ax, image, title, pixel_size_um, *, colorbar_label=None, cmap=MAP_CMAP, vmin=None, vmax=None):
    """Draw a 2-D map without ticks, with its title, a scale bar and (optionally) a colour bar.

    Returns
    -------
    matplotlib.image.AxesImage
    """
    artist = ax.imshow(image, cmap=cmap, vmin=vmin, vmax=vmax)
    ax.set_title(title)
    ax.set_xticks([])
    ax.set_yticks([])
    add_scale_bar(ax, image.shape[1], pixel_size_um)
    if colorbar_label is not None:
        ax.figure.colorbar(artist, ax=ax, label=colorbar_label, shrink=0.85)
    return artist


def draw_window(ax, left, top, width, height):
    """The HR window as a red rectangle; coordinates are pixel edges of the shown image."""
    ax.add_patch(Rectangle((left, top), width, height, fill=False, edgecolor=WINDOW_COLOR, linewidth=1.5))
