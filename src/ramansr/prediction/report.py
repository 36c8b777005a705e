"""The predictions in tables and figures: the test areas' checks, every prediction's LR consistency, the maps.

:func:`prediction_table_file` (the ``prediction_table`` stage) and :func:`plot_spectral_fidelity_file`
(``figure_spectral_fidelity``) read the test areas' checks (:mod:`ramansr.prediction.check`) and the
predictions' ``maps.npz``; :func:`plot_maps` draws one prediction's maps
(:func:`ramansr.prediction.scan.write_prediction`).
"""

import sys

import numpy as np
import pandas as pd
from scipy.stats import spearmanr

from ramansr.figure_style import DIVERGING_CMAP, new_figure, save_figure, show_map
from ramansr.io_utils import load_npz, read_json, write_csv, write_text
from ramansr.prediction import area_prediction_name
from ramansr.prediction.consistency import far_below


def plot_maps(lowres_maps, predicted_maps, out_paths, factor, pixel_size_um=None, title="", residual=None, psnr=None):
    """Each component's LR map (top row) over its super-resolved map, in the figures' style.

    Parameters
    ----------
    lowres_maps : ndarray, (k, h, w)
    predicted_maps : ndarray, (k, factor h, factor w)
    out_paths : sequence of path-like
        Formats from the suffixes (``.png``, ``.pdf``).
    factor : int
        The SR factor.
    pixel_size_um : (row step, column step) or None
        The LR scan's pixel size; None draws the scale bars in pixels.
    title : str
    residual, psnr : ndarray, (k, h, w) and (k,), or None
        The LR consistency (:func:`ramansr.prediction.consistency.lowres_consistency`): a
        third row shows the re-imaged SR map minus the LR map, titled with its PSNR.
    """
    lr_pixel = float("nan") if pixel_size_um is None else float(pixel_size_um[-1])
    rows = ((lowres_maps, "LR", lr_pixel), (predicted_maps, f"{factor}x SR", lr_pixel / factor))
    fig, axes = new_figure(2 if residual is None else 3, len(lowres_maps))
    for component in range(len(lowres_maps)):
        for axis, (maps, label, pixel_size) in zip(axes[:, component], rows, strict=False):
            show_map(axis, maps[component], f"component {component}: {label}", pixel_size, vmin=0.0, vmax=1.0)
    if residual is not None:
        # one symmetric colour scale for every component, so residuals compare across maps
        limit = max(float(np.abs(residual).max()), 1e-6)
        for component, axis in enumerate(axes[2]):
            show_map(
                axis,
                residual[component],
                f"re-imaged SR - LR: {psnr[component]:.1f} dB",
                lr_pixel,
                colorbar_label="residual",
                cmap=DIVERGING_CMAP,
                vmin=-limit,
                vmax=limit,
            )
    fig.suptitle(title)
    save_figure(fig, out_paths)


def prediction_table(checks, consistencies, *, margin_db):
    """The test areas' checks and every prediction's LR consistency, as tables.

    Parameters
    ----------
    checks : dict
        ``{(sample, area): check dict}`` of :func:`check_prediction_file`.
    consistencies : dict
        ``{name: consistency PSNR per map}`` of the LR-only predictions (``predict: scans``).
    margin_db : float
        A map is flagged when its consistency is below the test areas' lowest
        minus this (the config's ``predict: consistency_margin_db``;
        :func:`ramansr.prediction.consistency.far_below`).

    Returns
    -------
    areas : pandas.DataFrame
        One row per test area: the band scores, the mean per-channel PSNR and
        the mean spectral angle, of the model (``model_*``) and of linear interpolation (``linear_*``).
    maps : pandas.DataFrame
        One row per predicted map: prediction, sample, area (empty for LR-only
        scans), component, consistency_psnr, true_psnr (test areas), flagged.
    spearman : float
        Spearman's rank correlation of consistency and true PSNR over the test
        areas' maps (NaN with fewer than 3 maps or a constant column).
    """
    area_rows, map_rows = [], []
    for (sample, area), check in checks.items():
        row = {"sample": sample, "area": area, "band": f"{check['band'][0]:.0f}-{check['band'][1]:.0f}"}
        for name in ("model", "linear"):
            for key in ("psnr", "ssim", "psnr_common", "ssim_common"):
                row[f"{name}_{key}"] = check[name][key]
            row[f"{name}_channel_psnr"] = float(np.mean(check["spectral"]["channel_psnr"][name]))
            row[f"{name}_spectral_angle_deg"] = check["spectral"]["spectral_angle_deg"][name]
        area_rows.append(row)
        map_rows += [
            {"prediction": area_prediction_name(sample, area), "sample": sample, "area": area, **entry}
            for entry in check["maps"]
        ]
    reference = [row["consistency_psnr"] for row in map_rows]
    for name, values in consistencies.items():
        map_rows += [
            {"prediction": name, "component": k, "consistency_psnr": float(value)} for k, value in enumerate(values)
        ]
    maps = pd.DataFrame(
        map_rows,
        columns=["prediction", "sample", "area", "component", "area_component", "consistency_psnr", "true_psnr"],
    )
    maps["flagged"] = far_below(maps["consistency_psnr"], reference, margin_db)
    tested = maps.dropna(subset=["true_psnr"])
    spearman = float("nan")
    if len(tested) >= 3 and tested["consistency_psnr"].nunique() > 1 and tested["true_psnr"].nunique() > 1:
        spearman = float(spearmanr(tested["consistency_psnr"], tested["true_psnr"]).statistic)
    return pd.DataFrame(area_rows), maps, spearman


def prediction_table_file(
    areas, check_paths, names, maps_paths, model_name, csv_path, maps_csv_path, md_path, *, margin_db
):
    """The ``prediction_table`` stage: :func:`prediction_table` as CSV and Markdown; flagged maps also in the log.

    ``names`` and ``maps_paths`` are the LR-only predictions and their ``maps.npz``; ``margin_db`` is the
    config's ``predict: consistency_margin_db``.
    """
    consistencies = {name: load_npz(path)["consistency_psnr"] for name, path in zip(names, maps_paths, strict=True)}
    checks = {tuple(key): read_json(path) for key, path in zip(areas, check_paths, strict=True)}
    table, maps, spearman = prediction_table(checks, consistencies, margin_db=margin_db)
    labelled = table.rename(columns=lambda c: c.replace("model_", f"{model_name}_", 1))
    write_csv(labelled, csv_path)
    write_csv(maps, maps_csv_path)
    flagged = maps.loc[maps["flagged"]]
    lowest = maps.dropna(subset=["true_psnr"])["consistency_psnr"].min()
    if len(flagged):
        print(
            f"LR consistency far below the test areas' (under {lowest:.2f} - {margin_db:g} dB): "
            + ", ".join(
                f"{r.prediction} component {r.component} ({r.consistency_psnr:.2f} dB)" for r in flagged.itertuples()
            ),
            file=sys.stderr,
        )
    write_text(prediction_markdown(labelled, maps, spearman, model_name, lowest, margin_db), md_path)


def prediction_markdown(table, maps, spearman, model_name, lowest, margin_db):
    """The text of ``prediction.md``: the test areas' table (columns named after ``model_name``) and the maps'.

    ``lowest`` is the test maps' lowest LR consistency (dB), from which a map more than ``margin_db``
    below is flagged.
    """
    flagged = sorted(set(maps.loc[maps["flagged"], "prediction"]))
    flag_line = (
        "**Flagged (LR consistency far below the test areas'): " + ", ".join(flagged) + "**"
        if flagged
        else "No prediction is flagged."
    )
    return (
        f"### Reconstructed HR cubes ({model_name}) against the measured HR scans, test areas\n\n"
        "Band image of the predicted cube at the registered window against the measured HR "
        "scan's; linear interpolation of the LR band image alongside. `psnr`, `ssim`: each image "
        "min-max normalised on its own (paper-comparable, blind to intensity errors); "
        "`*_common`: the measured image calibrated to the LR scan's units and every image "
        "normalised with the LR band image's range (sees a wrong contrast or background). "
        "Spectral fidelity over every channel: `*_channel_psnr` is the mean over channels of the PSNR "
        "of each channel image (the measured one calibrated to the LR units, data_range the LR channel "
        "image's max - min; `figures/spectral_fidelity.png` shows it per channel), "
        "`*_spectral_angle_deg` the mean angle between predicted and measured spectra.\n\n"
        + table.to_markdown(index=False, floatfmt=".3f")
        + "\n\n### LR consistency of every prediction (no HR scan needed)\n\n"
        "Each super-resolved map blurred with the LR objective's PSF and point-sampled at the LR "
        "points, against the LR map: PSNR in dB, data_range 1 (both maps normalised with the LR map's "
        f"range). `true_psnr`: the test areas' error against the measured HR map on the same scale. "
        f"Spearman rank correlation of consistency and true PSNR over the {len(maps.dropna(subset=['true_psnr']))} "
        f"test maps: {spearman:.2f}. A map is flagged when its consistency is under the test maps' "
        f"lowest ({lowest:.2f} dB) minus {margin_db:g} dB. {flag_line}\n\n"
        + maps.to_markdown(index=False, floatfmt=".3f")
    )


def plot_spectral_fidelity(checks, model_name, out_paths):
    """Per-channel PSNR of the rebuilt cube and of linear interpolation over the spectrum, one colour per test area.

    Parameters
    ----------
    checks : dict
        ``{(sample, area): check dict}`` of :func:`check_prediction_file`.
    model_name : str
    out_paths : sequence of path-like
    """
    fig, axes = new_figure(1, 1, panel_size=(7.0, 3.2))
    axis = axes[0, 0]
    for index, ((sample, area), check) in enumerate(checks.items()):
        spectral, colour = check["spectral"], f"C{index}"
        axis.plot(
            spectral["wavenumbers"],
            spectral["channel_psnr"]["model"],
            color=colour,
            lw=1.0,
            label=f"{sample}/{area} {model_name}",
        )
        axis.plot(
            spectral["wavenumbers"],
            spectral["channel_psnr"]["linear"],
            color=colour,
            lw=1.0,
            ls="--",
            label=f"{sample}/{area} linear",
        )
    axis.set_xlabel("Raman shift (rel. 1/cm)")
    axis.set_ylabel("PSNR per channel (dB)")
    axis.set_title("Rebuilt HR cube (solid) and linear interpolation (dashed) against the measured HR scan")
    axis.legend(fontsize="small", ncols=2)
    save_figure(fig, out_paths)


def plot_spectral_fidelity_file(areas, check_paths, model_name, png_path, pdf_path):
    """The ``figure_spectral_fidelity`` stage: :func:`plot_spectral_fidelity` of the test areas' checks."""
    checks = {tuple(key): read_json(path) for key, path in zip(areas, check_paths, strict=True)}
    plot_spectral_fidelity(checks, model_name, [png_path, pdf_path])
