"""The predictions in tables and figures: the test areas' checks, every prediction's LR consistency, the maps.

:func:`prediction_table_file` (the ``prediction_table`` stage) and :func:`plot_spectral_fidelity_file`
(``figure_spectral_fidelity``) read the test areas' checks (:mod:`ramansr.prediction.check`) and the
predictions' ``maps.npz``; :func:`plot_maps` draws one prediction's maps
(:func:`ramansr.prediction.files.write_prediction`).
"""

import sys

import numpy as np
import pandas as pd
from scipy.stats import spearmanr

from ramansr.figure_style import DIVERGING_CMAP, new_figure, save_figure, show_map
from ramansr.io_utils import load_npz, read_json, write_csv, write_text
from ramansr.prediction import area_prediction_name
from ramansr.prediction.consistency import far_below
from ramansr.prediction.trust import above_threshold


def plot_maps(
    lowres_maps,
    predicted_maps,
    out_paths,
    factor,
    pixel_size_um=None,
    title="",
    residual=None,
    psnr=None,
    uncertainty=None,
):
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
        row shows the re-imaged SR map minus the LR map, titled with its PSNR.
    uncertainty : (ndarray (k, factor h, factor w), ndarray (k,)) or None
        The calibrated per-pixel uncertainty and each map's predicted RMSE
        (:func:`ramansr.prediction.trust.prediction_uncertainty`): the last row, titled with the RMSE.
    """
    lr_pixel = float("nan") if pixel_size_um is None else float(pixel_size_um[-1])
    rows = ((lowres_maps, "LR", lr_pixel), (predicted_maps, f"{factor}x SR", lr_pixel / factor))
    n_rows = 2 + (residual is not None) + (uncertainty is not None)
    fig, axes = new_figure(n_rows, len(lowres_maps))
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
    if uncertainty is not None:
        plot_uncertainty_row(axes[-1], *uncertainty, lr_pixel / factor)
    fig.suptitle(title)
    save_figure(fig, out_paths)


def plot_uncertainty_row(axes, uncertainty, rmse, pixel_size_um):
    """One row of :func:`plot_maps`: each map's per-pixel uncertainty, one colour scale, titled with its RMSE."""
    limit = max(float(np.max(uncertainty)), 1e-6)
    for component, axis in enumerate(axes):
        show_map(
            axis,
            uncertainty[component],
            f"uncertainty (RMSE {rmse[component]:.3f})",
            pixel_size_um,
            colorbar_label="RMS error",
            vmin=0.0,
            vmax=limit,
        )


def prediction_table(checks, consistencies, *, margin_db, predicted_rmse=None, threshold_rmse=None):
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
    predicted_rmse : dict or None
        ``{prediction name: predicted RMSE per map}`` of the predictions with an uncertainty
        (:func:`ramansr.prediction.trust.prediction_uncertainty`), test areas' and LR-only.
    threshold_rmse : float or None
        A map whose predicted RMSE is above it is flagged (``flagged_rmse``; the config's
        ``uncertainty: threshold_rmse``); None flags none.

    Returns
    -------
    areas : pandas.DataFrame
        One row per test area: the band scores, the mean per-channel PSNR and
        the mean spectral angle, of the model (``model_*``) and of linear interpolation (``linear_*``).
    maps : pandas.DataFrame
        One row per predicted map: prediction, sample, area (empty for LR-only
        scans), component, consistency_psnr, true_psnr (test areas), flagged, predicted_rmse (NaN
        without an uncertainty), true_rmse (test areas: ``10^(-true_psnr / 20)``, the RMSE on the
        same scale), flagged_rmse.
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
    maps = with_predicted_rmse(maps, predicted_rmse or {}, threshold_rmse)
    tested = maps.dropna(subset=["true_psnr"])
    spearman = float("nan")
    if len(tested) >= 3 and tested["consistency_psnr"].nunique() > 1 and tested["true_psnr"].nunique() > 1:
        spearman = float(spearmanr(tested["consistency_psnr"], tested["true_psnr"]).statistic)
    return pd.DataFrame(area_rows), maps, spearman


def with_predicted_rmse(maps, predicted_rmse, threshold_rmse):
    """The maps' table of :func:`prediction_table` with predicted_rmse, true_rmse and flagged_rmse."""
    maps = maps.copy()
    maps["predicted_rmse"] = [
        float(predicted_rmse[name][k]) if name in predicted_rmse else np.nan
        for name, k in zip(maps["prediction"], maps["component"], strict=True)
    ]
    maps["true_rmse"] = 10.0 ** (-maps["true_psnr"].astype(float) / 20.0)
    maps["flagged_rmse"] = above_threshold(maps["predicted_rmse"], threshold_rmse)
    return maps


def prediction_table_file(
    areas,
    check_paths,
    names,
    maps_paths,
    model_name,
    csv_path,
    maps_csv_path,
    md_path,
    *,
    margin_db,
    area_maps_paths=(),
    threshold_rmse=None,
):
    """The ``prediction_table`` stage: :func:`prediction_table` as CSV and Markdown; flagged maps also in the log.

    ``names`` and ``maps_paths`` are the LR-only predictions and their ``maps.npz``; ``margin_db`` is the
    config's ``predict: consistency_margin_db``. ``area_maps_paths`` are the test areas' ``maps.npz``
    (in ``areas``' order), read for their predicted RMSE; ``threshold_rmse`` is the config's
    ``uncertainty: threshold_rmse``.
    """
    predictions = dict(zip(names, map(load_npz, maps_paths), strict=True))
    consistencies = {name: prediction["consistency_psnr"] for name, prediction in predictions.items()}
    predictions |= {
        area_prediction_name(*key): load_npz(path) for key, path in zip(areas, area_maps_paths, strict=False)
    }
    predicted_rmse = {name: p["predicted_rmse"] for name, p in predictions.items() if "predicted_rmse" in p}
    checks = {tuple(key): read_json(path) for key, path in zip(areas, check_paths, strict=True)}
    table, maps, spearman = prediction_table(
        checks, consistencies, margin_db=margin_db, predicted_rmse=predicted_rmse, threshold_rmse=threshold_rmse
    )
    labelled = table.rename(columns=lambda c: c.replace("model_", f"{model_name}_", 1))
    write_csv(labelled, csv_path)
    write_csv(maps, maps_csv_path)
    lowest = maps.dropna(subset=["true_psnr"])["consistency_psnr"].min()
    log_flagged(maps, "flagged", f"LR consistency far below the test areas' (under {lowest:.2f} - {margin_db:g} dB)")
    if threshold_rmse is not None:
        log_flagged(maps, "flagged_rmse", f"predicted RMSE above {threshold_rmse:g} (take the HR scan)")
    markdown = prediction_markdown(labelled, maps, spearman, model_name, lowest, margin_db)
    write_text(markdown + "\n\n" + uncertainty_markdown(maps, threshold_rmse), md_path)


def log_flagged(maps, column, why):
    """Name the maps flagged in ``column`` (with their consistency and predicted RMSE) in the log, after ``why``."""
    flagged = maps.loc[maps[column]]
    if len(flagged):
        print(
            f"{why}: "
            + ", ".join(
                f"{r.prediction} component {r.component} ({r.consistency_psnr:.2f} dB, "
                f"predicted RMSE {r.predicted_rmse:.4f})"
                for r in flagged.itertuples()
            ),
            file=sys.stderr,
        )


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


def uncertainty_markdown(maps, threshold_rmse):
    """The section of ``prediction.md`` on each map's predicted RMSE and the threshold that flags it.

    Parameters
    ----------
    maps : pandas.DataFrame
        The maps' table of :func:`prediction_table`.
    threshold_rmse : float or None
    """
    known = maps.dropna(subset=["predicted_rmse"])
    if known.empty:
        return (
            "### Predicted RMSE (calibrated uncertainty)\n\nNo prediction has an uncertainty: the model has no "
            "calibration (`uncertainty: enabled` false, or a joint model)."
        )
    if threshold_rmse is None:
        flag_line = "No threshold is set (`uncertainty: threshold_rmse` is null): no map is flagged."
    elif known["flagged_rmse"].any():
        flag_line = (
            f"**Predicted RMSE above {threshold_rmse:g}, take the HR scan: "
            + ", ".join(
                f"{r.prediction} component {r.component} ({r.predicted_rmse:.4f})"
                for r in known.loc[known["flagged_rmse"]].itertuples()
            )
            + "**"
        )
    else:
        flag_line = f"No map's predicted RMSE is above {threshold_rmse:g}."
    columns = ["prediction", "component", "predicted_rmse", "true_rmse", "flagged_rmse"]
    return (
        "### Predicted RMSE of every prediction (calibrated uncertainty, no HR scan needed)\n\n"
        "`predicted_rmse`: the root mean square of the map's per-pixel uncertainty (`uncertainty` in its "
        "`maps.npz`), on the maps' scale (normalised with the LR map's range); `true_rmse`: the test "
        "areas' RMSE against the measured HR map at the registered window, on the same scale. How well "
        "the one ranks the other on the test maps, and the intervals' coverage: "
        f"`tables/uncertainty.md`. {flag_line}\n\n" + known[columns].to_markdown(index=False, floatfmt=".4f")
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
