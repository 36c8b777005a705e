"""Figs. 4 and 5: example pairs' LR and HR maps beside every model's output, with its scores."""

import numpy as np
import pandas as pd

from ramansr.figure_style import draw_window, message_panel, new_figure, save_figure, show_map
from ramansr.figures import model_label, pixel_size_from_spectra
from ramansr.inference import super_resolve_pairs
from ramansr.io_utils import load_npz
from ramansr.metrics import crop_window, score


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
