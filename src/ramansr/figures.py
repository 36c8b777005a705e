"""The paper's figures (1-5), the supplementary ones, and the training curves.

Every figure is drawn with matplotlib's Agg backend in one style
(:func:`apply_style`) and written as PNG and PDF, atomically: each function
takes ``out_paths``, a sequence of paths whose suffixes (``.png``, ``.pdf``)
choose the formats. Maps get a colour bar and a scale bar in micrometres
(in pixels when the scan does not record its pixel size).

Inputs follow the file contracts of :mod:`ramansr.preprocess` (spectra),
:mod:`ramansr.decompose` (nmf.npz, pca.npz), :mod:`ramansr.register` and
:mod:`ramansr.selection` (per-area JSON), :mod:`ramansr.dataset` (pairs.npz,
split.csv) and :mod:`ramansr.train` (history.csv, best.pt).
"""

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib import patheffects
from matplotlib.patches import FancyArrowPatch, Rectangle
from matplotlib.ticker import MaxNLocator

from ramansr.io_utils import atomic_path, load_npz
from ramansr.metrics import MODEL_LABELS, crop_window, score
from ramansr.register import match_window, upscale
from ramansr.selection import radial_power_spectrum

MAP_CMAP = "viridis"
CORRELATION_CMAP = "magma"
WINDOW_COLOR = "red"
KEPT_COLOR = "tab:blue"
REJECTED_COLOR = "tab:red"
LAYOUT_STEP_IN = (1.9, 0.8)  # node spacing of the fallback rule-graph layout, inches
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


# --------------------------------------------------------------------------- style and output


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


def model_label(name):
    """The paper's display name of a model."""
    return MODEL_LABELS.get(name, name)


# --------------------------------------------------------------------------- maps


def pixel_size_from_spectra(spectra_path):
    """A scan's pixel size in um (the column step), or NaN, from the preprocess stage's spectra file."""
    size = np.asarray(load_npz(spectra_path)["pixel_size_um"], dtype=float).ravel()
    return float(size[-1]) if size.size else float("nan")


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


# --------------------------------------------------------------------------- Fig. 1: the workflow


def rulegraph_dot(snakefile, configfiles=(), workdir="."):
    """The DOT text of ``snakemake --rulegraph`` for a workflow and its config files."""
    command = [
        sys.executable,
        "-m",
        "snakemake",
        "--snakefile",
        str(snakefile),
        "--rulegraph",
        "--nolock",
        "--quiet",
        "all",
    ]
    for path in configfiles:
        command += ["--configfile", str(path)]
    result = subprocess.run(command, cwd=workdir, capture_output=True, text=True, check=True)
    return result.stdout


def parse_dot(dot_text):
    """Nodes and edges of a rule graph's DOT text (the subset snakemake writes).

    Returns
    -------
    labels : dict
        Node id -> rule name.
    edges : list of (source id, target id)
        From the producing rule to the consuming one.
    """
    labels = dict(re.findall(r'^\s*(\w+)\s*\[\s*label\s*=\s*"([^"]+)"', dot_text, flags=re.MULTILINE))
    edges = re.findall(r"^\s*(\w+)\s*->\s*(\w+)", dot_text, flags=re.MULTILINE)
    return labels, edges


def layered_layout(labels, edges):
    """Node positions without graphviz: the layer is the longest path from a source; top to bottom.

    Returns
    -------
    dict
        Node id -> (x, y) in inches (as graphviz's), y decreasing with the layer.
    """
    parents = {node: [] for node in labels}
    for source, target in edges:
        if source != target:  # a rule feeding itself (SRGAN starts from SRResNet) sets no layer
            parents[target].append(source)
    depth = {}

    def node_depth(node):
        if node not in depth:
            depth[node] = 1 + max((node_depth(p) for p in parents[node]), default=-1)
        return depth[node]

    layers = {}
    for node in sorted(labels, key=lambda n: labels[n]):
        layers.setdefault(node_depth(node), []).append(node)
    positions = {}
    for layer, nodes in layers.items():
        for i, node in enumerate(nodes):
            positions[node] = (LAYOUT_STEP_IN[0] * (i - (len(nodes) - 1) / 2), -LAYOUT_STEP_IN[1] * layer)
    return positions


def graphviz_layout(dot_text):
    """Node positions in inches from graphviz's ``dot -Tplain``, or None when ``dot`` is not installed."""
    if shutil.which("dot") is None:
        return None
    plain = subprocess.run(["dot", "-Tplain"], input=dot_text, capture_output=True, text=True, check=True).stdout
    positions = {}
    for line in plain.splitlines():
        fields = line.split()
        if fields and fields[0] == "node":
            positions[fields[1]] = (float(fields[2]), float(fields[3]))
    return positions


def box_half_sizes(ax, texts):
    """Half width and half height of each boxed label, in data units (needs a drawn canvas)."""
    ax.figure.canvas.draw()
    to_data = ax.transData.inverted()
    sizes = {}
    for node, text in texts.items():
        (x0, y0), (x1, y1) = to_data.transform(text.get_bbox_patch().get_window_extent().get_points())
        sizes[node] = (abs(x1 - x0) / 2, abs(y1 - y0) / 2)
    return sizes


def edge_on_box(centre, towards, half_size):
    """Where the line from a box's centre towards a point leaves the box."""
    centre, towards = np.asarray(centre, float), np.asarray(towards, float)
    direction = towards - centre
    limits = [h / abs(d) for h, d in zip(half_size, direction, strict=True) if d != 0]
    return tuple(centre + min([*limits, 1.0]) * direction)


def rule_arrow(start, end, start_size, end_size):
    """An arrow from one rule's box to another's; a loop on the right of the box when a rule feeds itself."""
    style = {"arrowstyle": "-|>", "mutation_scale": 12, "color": "0.45", "linewidth": 1.0, "shrinkA": 1, "shrinkB": 1}
    if start == end:
        x, y = start
        right = x + start_size[0]
        return FancyArrowPatch(
            (right, y + 0.6 * start_size[1]), (right, y - 0.6 * start_size[1]), connectionstyle="arc3,rad=-2.5", **style
        )
    return FancyArrowPatch(edge_on_box(start, end, start_size), edge_on_box(end, start, end_size), **style)


def plot_rulegraph(dot_text, out_paths):
    """Fig. 1: the workflow's rules and their dependencies.

    Parameters
    ----------
    dot_text : str
        Output of ``snakemake --rulegraph``.
    out_paths : sequence of path-like
    """
    dot_text = dot_text[dot_text.find("digraph") :]
    labels, edges = parse_dot(dot_text)
    positions = graphviz_layout(dot_text) or layered_layout(labels, edges)
    xs = np.array([positions[n][0] for n in labels])
    ys = np.array([positions[n][1] for n in labels])
    fig, axes = new_figure(1, 1, panel_size=(max(6.5, np.ptp(xs) + 2.5), np.ptp(ys) + 1.2))
    ax = axes[0, 0]
    ax.set_xlim(xs.min() - 1.0, xs.max() + 1.0)
    ax.set_ylim(ys.min() - 0.4, ys.max() + 0.4)
    ax.set_axis_off()
    ax.set_title("ramansr workflow: each arrow feeds a rule's output into another rule's input", fontsize=13)
    texts = {
        node: ax.text(
            *positions[node],
            name,
            ha="center",
            va="center",
            fontsize=11,
            zorder=3,
            bbox={"boxstyle": "round,pad=0.4", "facecolor": "#dbe9f6", "edgecolor": "#2c6aa0"},
        )
        for node, name in labels.items()
    }
    sizes = box_half_sizes(ax, texts)
    for source, target in edges:
        ax.add_patch(rule_arrow(positions[source], positions[target], sizes[source], sizes[target]))
    save_figure(fig, out_paths)


# --------------------------------------------------------------------------- Fig. 2: PCA against NMF


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
                cmap="RdBu_r",
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


# --------------------------------------------------------------------------- Fig. 3: registration


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


# --------------------------------------------------------------------------- Figs. 4 and 5: examples


def upscale_examples(checkpoint_paths, lowres_maps):
    """Every model's output (upscaled by the run's SR factor) of the given LR maps.

    Parameters
    ----------
    checkpoint_paths : dict
        Model name -> ``best.pt``.
    lowres_maps : ndarray, shape (n, h, w)

    Returns
    -------
    dict
        Model name -> ndarray (n, factor h, factor w).
    """
    # deferred: the other figures import this module and need no torch
    from ramansr.inference import load_model, super_resolve

    return {name: super_resolve(load_model(path, "cpu"), lowres_maps) for name, path in checkpoint_paths.items()}


def example_indices(table, split, count):
    """Up to ``count`` pairs of one split, spread over different areas where possible."""
    rows = table[table["split"] == split]
    one_per_area = rows.drop_duplicates(["sample", "area"])
    chosen = list(one_per_area.index[:count])
    chosen += [i for i in rows.index if i not in chosen][: count - len(chosen)]
    return chosen


def plot_examples(pairs_path, split_path, checkpoint_paths, spectra_path, split, out_paths, count=2):
    """Figs. 4 and 5: LR map with its window, the HR map, and every model's window.

    Parameters
    ----------
    pairs_path, split_path : path-like
        The dataset stage's files.
    checkpoint_paths : dict
        Model name -> ``best.pt``, in the order to show them.
    spectra_path : path-like
        An LR spectra file (for the pixel size; all areas share the geometry).
    split : {"train", "val", "test"}
    out_paths : sequence of path-like
    count : int
        Example pairs, one per row.
    """
    pairs = load_npz(pairs_path)
    table = pd.read_csv(split_path, dtype={"sample": str, "area": str})
    indices = example_indices(table, split, count)
    lr_pixel = pixel_size_from_spectra(spectra_path)
    if not indices:
        fig, axes = new_figure(1, 1, panel_size=(6, 1.5))
        message_panel(axes[0, 0], f"No pairs in the {split} split.")
        save_figure(fig, out_paths)
        return
    outputs = upscale_examples(checkpoint_paths, pairs["lowres"][indices])
    fig, axes = new_figure(len(indices), 2 + len(outputs), panel_size=(2.3, 2.5))
    for row, index in enumerate(indices):
        artist = plot_example_row(
            axes[row],
            pairs,
            index,
            table.loc[index, "pair_id"],
            {name: upscaled[row] for name, upscaled in outputs.items()},
            lr_pixel,
            int(pairs["factor"]),
        )
        fig.colorbar(artist, ax=axes[row].tolist(), label="LR-normalised intensity", shrink=0.9, aspect=12, pad=0.01)
    fig.suptitle(
        f"{split.capitalize()} examples: PSNR (dB) and SSIM against the measured HR map, on the LR map's scale"
    )
    save_figure(fig, out_paths)


def plot_example_row(axes, pairs, index, pair_id, upscaled, lr_pixel, factor):
    """One example: LR with the window, measured HR, each model's window with its scores.

    Every panel of the row shares one colour scale, the LR map's (the pairs'
    common scale, widened to the HR target's range), so a wrong contrast or a
    lifted background shows.

    Returns
    -------
    matplotlib.image.AxesImage
        The HR map's image, for the row's colour bar.
    """
    lowres, highres, (x, y) = pairs["lowres"][index], pairs["highres"][index], pairs["position"][index]
    height, width = highres.shape
    limits = {
        "vmin": min(float(lowres.min()), float(highres.min())),
        "vmax": max(float(lowres.max()), float(highres.max())),
    }
    show_map(axes[0], lowres, f"LR {pair_id}", lr_pixel, **limits)
    draw_window(axes[0], x / factor - 0.5, y / factor - 0.5, width / factor, height / factor)
    hr_artist = show_map(axes[1], highres, "HR (measured)", lr_pixel / factor, **limits)
    for ax, (name, output) in zip(axes[2:], upscaled.items(), strict=True):
        window = crop_window(output, (x, y), highres.shape)
        scores = score(window, highres)
        show_map(
            ax,
            window,
            f"{model_label(name)}\n{scores['psnr']:.2f} dB, {scores['ssim']:.3f}",
            lr_pixel / factor,
            **limits,
        )
    return hr_artist


# --------------------------------------------------------------------------- supplementary


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


def plot_training_curves(history_paths, out_paths):
    """Training curves: per trained model, the losses (top) and the validation PSNR (bottom).

    Parameters
    ----------
    history_paths : dict
        Model name -> ``history.csv`` (columns epoch, train_loss, val_loss,
        val_psnr); the baselines' empty histories are left out.
    out_paths : sequence of path-like
    """
    histories = {name: pd.read_csv(path) for name, path in history_paths.items()}
    histories = {name: history for name, history in histories.items() if len(history)}
    if not histories:
        fig, axes = new_figure(1, 1, panel_size=(6, 1.5))
        message_panel(axes[0, 0], "No trained model in this run (only interpolation baselines).")
        save_figure(fig, out_paths)
        return
    fig, axes = new_figure(2, len(histories), panel_size=(3.4, 2.6), sharex="col")
    for column, (name, history) in enumerate(histories.items()):
        plot_losses(axes[0, column], history, model_label(name))
        plot_validation_psnr(axes[1, column], history)
        axes[1, column].xaxis.set_major_locator(MaxNLocator(integer=True))
    fig.suptitle("Training: loss per epoch (top) and validation PSNR (bottom)")
    save_figure(fig, out_paths)


def plot_losses(ax, history, title):
    """Train and validation MSE against epoch, log scale."""
    ax.plot(history["epoch"], history["train_loss"], color=KEPT_COLOR, label="train")
    validated = history.dropna(subset=["val_loss"])
    ax.plot(validated["epoch"], validated["val_loss"], color="tab:orange", marker="o", markersize=3, label="val")
    if spans_a_decade(pd.concat([history["train_loss"], validated["val_loss"]])):
        ax.set_yscale("log")
    ax.set_title(title)
    ax.set_ylabel("loss (MSE)")
    ax.legend(frameon=False)


def spans_a_decade(values):
    """Whether positive values range over at least a factor of ten (then a log axis helps)."""
    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values) & (values > 0)]
    return values.size > 0 and values.max() >= 10 * values.min()


def plot_validation_psnr(ax, history):
    """Validation PSNR against epoch, or a note when the run had no validation pairs."""
    validated = history.dropna(subset=["val_psnr"])
    if validated.empty:
        ax.text(0.5, 0.5, "not validated", ha="center", va="center", transform=ax.transAxes)
    ax.plot(validated["epoch"], validated["val_psnr"], color="tab:orange", marker="o", markersize=3)
    ax.set_xlabel("epoch")
    ax.set_ylabel("val PSNR (dB)")
