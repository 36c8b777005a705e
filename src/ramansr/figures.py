"""The paper's figures (2-5), the supplementary ones and the training curves.

Every figure is drawn with matplotlib's Agg backend in the one style of :mod:`ramansr.figure_style`
and written as PNG and PDF, atomically: each function
takes ``out_paths``, a sequence of paths whose suffixes (``.png``, ``.pdf``)
choose the formats. Maps get a colour bar and a scale bar in micrometres
(in pixels when the scan does not record its pixel size).

Inputs follow the file contracts of :mod:`ramansr.preprocess` (spectra),
:mod:`ramansr.decompose` (nmf.npz, pca.npz), :mod:`ramansr.register` and
:mod:`ramansr.selection` (per-area JSON), :mod:`ramansr.dataset` (pairs.npz,
split.csv) and :mod:`ramansr.train` (history.csv, best.pt). Fig. 1, the workflow, is in
:mod:`ramansr.rulegraph`.
"""

import json
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.ticker import MaxNLocator

from ramansr.figure_style import (
    CORRELATION_CMAP,
    DIVERGING_CMAP,
    KEPT_COLOR,
    REJECTED_COLOR,
    draw_window,
    message_panel,
    new_figure,
    save_figure,
    show_map,
)
from ramansr.io_utils import load_npz
from ramansr.metrics import MODEL_LABELS, crop_window, score
from ramansr.register import match_window, upscale
from ramansr.selection import radial_power_spectrum

# --------------------------------------------------------------------------- labels and pixel sizes


def model_label(name):
    """The paper's display name of a model."""
    return MODEL_LABELS.get(name, name)


def pixel_size_from_spectra(spectra_path):
    """A scan's pixel size in um (the column step), or NaN, from the preprocess stage's spectra file."""
    size = np.asarray(load_npz(spectra_path)["pixel_size_um"], dtype=float).ravel()
    return float(size[-1]) if size.size else float("nan")


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


def upscale_examples(checkpoint_paths, lowres_maps, table, indices):
    """Every model's output (upscaled by the run's SR factor) of the given pairs' LR maps.

    Parameters
    ----------
    checkpoint_paths : dict
        Model name -> ``best.pt``.
    lowres_maps : ndarray, shape (n, h, w)
        Every pair's LR map.
    table : pandas.DataFrame
        ``split.csv``, aligned with ``lowres_maps``.
    indices : list of int
        The pairs to show.

    Returns
    -------
    dict
        Model name -> ndarray (len(indices), factor h, factor w).
    """
    # deferred: the other figures import this module and need no torch
    from ramansr.inference import super_resolve_pairs

    # a joint model needs every map of the examples' areas
    areas = pd.MultiIndex.from_frame(table[["sample", "area"]])
    rows = np.flatnonzero(areas.isin(areas[indices]))
    shown = [int(np.flatnonzero(rows == index)[0]) for index in indices]
    return {
        name: super_resolve_pairs(path, lowres_maps[rows], table.iloc[rows], "cpu")[shown]
        for name, path in checkpoint_paths.items()
    }


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
    outputs = upscale_examples(checkpoint_paths, pairs["lowres"], table, indices)
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
