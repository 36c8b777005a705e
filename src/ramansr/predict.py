"""Super-resolve a new LR-only scan with a trained model.

The scan goes through the training data's processing (the detector offset
and the fluorescence baseline removed, despiking, Savitzky-Golay smoothing,
per-channel scaling, NMF, per-map min-max normalisation: the one chain of
:func:`ramansr.preprocess.spectral_chain`) with the settings stored in the checkpoint; every component map
is super-resolved by the checkpoint's SR factor; the predicted maps times the
NMF spectra, with both scalings undone, give the HR hyperspectral cube. A
joint model super-resolves all the maps in one pass; a new scan has no
selection, so every map enters, where training gave a dropped component zeros. The
model was trained to map an LR map to its HR map on the LR map's own scale
(``INTENSITY_CONVENTION`` of :mod:`ramansr.dataset`, recorded in the
checkpoint), so the maps and the cube come out on the LR scan's scale: the
Raman counts (offset and baseline removed) the LR objective would have collected at HR sampling.

Command line: ``ramansr-predict LOWRES.mat CHECKPOINT.pt [--out-prefix PREFIX]``
writes ``PREFIX_maps.npz``, ``PREFIX.png`` and ``PREFIX.mat``.
"""

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from ramansr.bands import CH_BAND, band_image, component_channels
from ramansr.checkpoint import check_convention, checkpoint_factor, checkpoint_joint_maps, read_checkpoint
from ramansr.consistency import (
    DEFAULT_MARGIN_DB,
    far_below,
    lowres_consistency,
    map_errors,
    spectral_fidelity,
)
from ramansr.dataset import (
    INTENSITY_CONVENTION,
    calibrate_to_lowres,
    normalize_maps,
)
from ramansr.decompose import fit_nmf
from ramansr.figure_style import DIVERGING_CMAP, new_figure, save_figure, show_map
from ramansr.geometry import check_trained_step
from ramansr.inference import load_model, super_resolve
from ramansr.io import RowBlocks, Scan, parse_image_shape, read_scan, write_scan
from ramansr.io_utils import load_npz, read_json, save_npz, write_csv, write_json, write_text
from ramansr.metrics import DATA_RANGE
from ramansr.optics import DEFAULT_EXCITATION_NM, DEFAULT_LOWRES_NA
from ramansr.preprocess import align_scan, preprocess_cube, scale_with_range, spectral_chain, unscale_channels
from ramansr.processing import LEGACY_DEFAULTS, PROCESSING_SETTINGS

# rows of the rebuilt cube made at a time: 8 rows of a 1200 x 1200 x 1024 SR cube are 39 MB
ROWS_PER_BLOCK = 8


def reconstruct_cube(normalized_maps, low, high, spectra, data_min, data_max):
    """The hyperspectral cube that component maps and spectra describe, in the scan's units.

    Parameters
    ----------
    normalized_maps : ndarray, (k, rows, cols)
        Maps normalised with (``low``, ``high``) per map.
    low, high : ndarray, (k,)
        The per-map range the normalisation removed. Abundances below zero,
        which NMF cannot give, are clipped to zero.
    spectra : ndarray, (k, channels)
        NMF component spectra (of the channel-scaled cube).
    data_min, data_max : ndarray, (channels,)
        The per-channel range the preprocessing's scaling removed.

    Returns
    -------
    RowBlocks
        The float32 cube (rows, cols, channels), made ``ROWS_PER_BLOCK`` rows at a
        time as it is consumed (an SR cube is 16x its LR scan: 5.9 GB at 300 x 300
        LR points x 1024 channels); ``.whole()`` for the array.
    """
    maps = np.clip(normalized_maps * (high - low)[:, None, None] + low[:, None, None], 0.0, None)

    def blocks():
        for start in range(0, maps.shape[1], ROWS_PER_BLOCK):
            # unscaling computes in float64, 2x the float32 block
            scaled_block = np.einsum("krc,kl->rcl", maps[:, start : start + ROWS_PER_BLOCK], spectra, optimize=True)
            yield unscale_channels(scaled_block, data_min, data_max)

    return RowBlocks((*maps.shape[1:], spectra.shape[1]), blocks)


def lowres_step(pixel_size_um):
    """One step (um) for the LR PSF: the geometric mean of a scan's (row, column) steps (equal in most scans)."""
    return float(np.sqrt(pixel_size_um[0] * pixel_size_um[1]))


def resolve_pipeline(checkpoint, overrides=None):
    """The processing settings to apply: the checkpoint's, which an override may repeat but not contradict.

    Parameters
    ----------
    checkpoint : dict
        A loaded checkpoint of :func:`ramansr.train.train_model`.
    overrides : dict or None
        Settings given on the command line (None values: not given).

    Returns
    -------
    dict
        Every key of ``ramansr.processing.PROCESSING_SETTINGS``.

    Raises
    ------
    ValueError
        An override that differs from the checkpoint's value (naming both), or,
        for a checkpoint without stored settings, a setting not given.
    """
    overrides = {key: value for key, value in (overrides or {}).items() if value is not None}
    stored = checkpoint.get("pipeline")
    if stored is None:
        missing = [key for key in PROCESSING_SETTINGS if key not in overrides]
        if missing:
            raise ValueError(
                f"the {checkpoint['model_name']} checkpoint stores no processing settings; give {', '.join(missing)}"
            )
        return {key: overrides[key] for key in PROCESSING_SETTINGS}
    stored = {**LEGACY_DEFAULTS, **stored}
    contradictions = [
        f"{key}: {overrides[key]!r} given, {stored[key]!r} in the checkpoint"
        for key in overrides
        if key in stored and overrides[key] != stored[key]
    ]
    if contradictions:
        raise ValueError(
            "the model was trained with other processing settings, which prediction must repeat: "
            + "; ".join(contradictions)
        )
    return {key: stored[key] for key in PROCESSING_SETTINGS}


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
        The LR consistency (:func:`ramansr.consistency.lowres_consistency`): a
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


def predict_scan(
    lowres_path,
    checkpoint_path,
    out_maps,
    out_png,
    out_mat,
    *,
    overrides=None,
    device=None,
    variable=None,
    image_shape=None,
    lowres_na=DEFAULT_LOWRES_NA,
    excitation_nm=DEFAULT_EXCITATION_NM,
    allow_step_mismatch=False,
):
    """Super-resolve every component map of an LR scan, rebuild the HR cube, and check both against the LR scan.

    The check needs no HR scan: every SR map, imaged again by the LR
    acquisition (:func:`ramansr.consistency.lowres_consistency`: the Airy PSF
    of ``lowres_na`` at ``excitation_nm`` on the scan's pixel size, point
    sampling at the LR points), is scored against its LR map; the PSNR per map
    goes to the log, the .npz, the returned dict and the figure's third row.

    Parameters
    ----------
    lowres_path : path-like
        The LR scan (.mat, any format :func:`ramansr.io.read_scan` reads).
    checkpoint_path : path-like
        ``best.pt`` or ``last.pt`` of :func:`ramansr.train.train_model`.
    out_maps : path-like
        .npz with ``predicted_maps`` (k, f r, f c) (f the SR factor) and
        ``lowres_maps`` (k, r, c), both normalised with the LR maps' ``map_low``
        and ``map_high`` (k,), ``spectra`` (k, channels), ``wavenumbers``,
        ``consistency_psnr`` (k,) (dB, data_range 1), ``lowres_residual`` (k, r, c)
        (re-imaged SR map minus LR map), ``settings`` (JSON text).
    out_png : path-like
        LR maps over predicted maps over the consistency residuals.
    out_mat : path-like
        The reconstructed HR cube, written with :func:`ramansr.io.write_scan`
        (WITec layout), in the LR scan's units; its pixel size is the LR scan's divided by the SR factor.
    overrides : dict or None
        Processing settings (keys of ``ramansr.processing.PROCESSING_SETTINGS``) given by the user; they
        must agree with the checkpoint's (see :func:`resolve_pipeline`).
    device : str or torch.device or None
        None picks CUDA when available, else CPU.
    variable : str or None
        The map to read from a file that holds several (see :func:`ramansr.io.read_scan`).
    image_shape : str or None
        'rows x cols' of a WITec Table export without header lines.
    lowres_na, excitation_nm : float
        The LR objective's numerical aperture and the laser wavelength (nm), for the consistency's PSF.
    allow_step_mismatch : bool
        Predict a scan whose pixel size is not the LR step the model was trained on, with a warning,
        instead of refusing it (:func:`ramansr.geometry.check_trained_step`).

    Returns
    -------
    dict
        Settings, input and output paths and shapes, model name, ``consistency``
        ({psnr: per map, data_range, na, excitation_nm, psf}) and timing.
    """
    started = time.perf_counter()
    # read once, and every check on it made before minutes of preprocessing and NMF
    checkpoint = read_checkpoint(checkpoint_path)
    model_name, factor = check_convention(checkpoint, checkpoint_path), checkpoint_factor(checkpoint)
    settings = resolve_pipeline(checkpoint, overrides)
    try:
        grid = parse_image_shape(image_shape)
    except ValueError as error:
        raise ValueError(f"{lowres_path}: image shape {image_shape!r}: {error}") from error
    scan = read_scan(
        lowres_path,
        variable,
        grid,
        choose_with="variable: of the scan under predict: scans (or --variable)",
        shape_from="shape: 'rows x cols' of the scan under predict: scans (or --image-shape)",
    )
    check_trained_step(scan.pixel_size_um, checkpoint.get("steps_um"), str(lowres_path), allow_step_mismatch)
    scaled_cube, data_min, data_max, removed = preprocess_cube(
        scan.cube, scan.wavenumbers, settings, name=str(lowres_path), overwrite=True
    )
    lowres_shape = list(scan.cube.shape)
    scan.cube = None  # the raw LR cube is not needed again: free it before NMF's working copies
    nmf_maps, spectra, _ = fit_nmf(
        scaled_cube,
        settings["n_components"],
        seed=settings["seed"],
        max_iter=settings["max_iter"],
        tol=settings["tol"],
    )
    del scaled_cube
    lowres_maps, low, high = normalize_maps(nmf_maps)

    model = load_model(checkpoint, device)
    # on the LR map's scale: an HR window may reach beyond the LR map's range, so no clipping to [0, 1]
    if checkpoint_joint_maps(checkpoint) is None:
        predicted_maps = super_resolve(model, lowres_maps)
    else:
        # a joint model: all of the scan's maps in one pass, in the channel order it was trained with
        channels = component_channels(spectra, scan.wavenumbers)
        stacked = np.empty_like(lowres_maps)
        stacked[channels] = lowres_maps
        predicted_maps = super_resolve(model, stacked[None], stacks=True)[0][channels]
    cube = reconstruct_cube(predicted_maps, low, high, spectra, data_min, data_max)
    consistency, residual = lowres_consistency(
        predicted_maps,
        lowres_maps,
        factor,
        lowres_step_um=None if scan.pixel_size_um is None else lowres_step(scan.pixel_size_um),
        na=lowres_na,
        wavelength_um=excitation_nm / 1e3,
    )
    psf = "none: the scan has no pixel size" if scan.pixel_size_um is None else "Airy"
    print(
        f"{lowres_path}: LR consistency (re-imaged SR maps against the LR maps, PSNR, data_range 1, PSF {psf}, "
        f"NA {lowres_na:g}, {excitation_nm:g} nm): " + ", ".join(f"{value:.2f}" for value in consistency) + " dB",
        file=sys.stderr,
    )

    pixel_size = None if scan.pixel_size_um is None else tuple(step / factor for step in scan.pixel_size_um)
    result = {
        "settings": settings,
        "factor": factor,
        "spikes": removed["spikes"],
        "offset": np.asarray(removed["offset"]).tolist(),
        "lowres_path": str(lowres_path),
        "checkpoint_path": str(checkpoint_path),
        "model": model_name,
        "lowres_shape": lowres_shape,
        "highres_shape": list(cube.shape),
        "pixel_size_um": None if pixel_size is None else list(pixel_size),
        "out_maps": str(out_maps),
        "out_png": str(out_png),
        "out_mat": str(out_mat),
        "consistency": {
            "psnr": [float(value) for value in consistency],
            "data_range": DATA_RANGE,
            "na": lowres_na,
            "excitation_nm": excitation_nm,
            "psf": psf,
        },
    }
    save_npz(
        out_maps,
        predicted_maps=predicted_maps,
        lowres_maps=lowres_maps,
        map_low=low,
        map_high=high,
        spectra=spectra,
        wavenumbers=scan.wavenumbers,
        consistency_psnr=consistency,
        lowres_residual=residual,
        settings=np.array(json.dumps(result)),
    )
    plot_maps(
        lowres_maps,
        predicted_maps,
        [out_png],
        factor,
        scan.pixel_size_um,
        title=f"{scan.name or Path(lowres_path).stem}: {model_name}",
        residual=residual,
        psnr=consistency,
    )
    meta = {
        "source": str(lowres_path),
        "super_resolved_with": str(checkpoint_path),
        "settings": json.dumps(settings),
        "intensity": "LR scan's units, detector offset and fluorescence baseline removed",
        "intensity_convention": INTENSITY_CONVENTION,
    }
    write_scan(
        Scan(
            cube=cube,
            wavenumbers=scan.wavenumbers,
            pixel_size_um=pixel_size,
            name=f"{scan.name or Path(lowres_path).stem}_sr{factor}",
            meta=meta,
        ),
        out_mat,
    )
    result["seconds"] = time.perf_counter() - started
    return result


def check_prediction(predicted, lowres, measured, position, factor):
    """Score a predicted HR band image against the measured HR scan's of the same area.

    Two scales, each for the predicted image (cropped at the registered
    window) and for linear interpolation of the LR scan's band image, the
    baseline:

    - ``minmax`` (paper-comparable): every band image min-max normalised on
      its own, blind to intensity errors;
    - ``common``: the measured HR band image brought to the LR scan's units
      (:func:`ramansr.convention.calibrate_to_lowres` against the LR band image:
      the objectives collect different intensities), then all images
      normalised with the LR band image's (low, high), so a wrong contrast or
      a lifted background costs.

    PSNR and SSIM use data_range 1.

    Parameters
    ----------
    predicted : ndarray, (factor h, factor w)
        The band image of the rebuilt cube.
    lowres : ndarray, (h, w)
    measured : ndarray, (H, W)
        The LR and HR scans' band images (offset and baseline removed, as the rebuilt cube's).
    position : (X, Y)
    factor : int

    Returns
    -------
    dict
        ``model`` and ``linear``: {psnr, ssim, psnr_common, ssim_common}
        each; the position and the HR image's calibration (gain, offset).
    """
    from ramansr.metrics import crop_window, score
    from ramansr.register import upscale

    window = measured.shape
    candidates = {
        "model": crop_window(predicted, position, window),
        "linear": crop_window(upscale(lowres, factor), position, window),
    }
    gain, offset = calibrate_to_lowres(lowres, measured, position, factor)
    _, low, high = normalize_maps(lowres[None])

    def common(image):
        return scale_with_range(image[None].astype(np.float32), low, high, axis=0)[0]

    measured_minmax = normalize_maps(measured[None])[0][0]
    result = {"position": [float(v) for v in position], "calibration": [gain, offset]}
    for name, image in candidates.items():
        own = score(normalize_maps(image[None])[0][0], measured_minmax)
        shared = score(common(image), common(gain * measured + offset))
        result[name] = {**own, "psnr_common": shared["psnr"], "ssim_common": shared["ssim"]}
    return result


def check_prediction_file(
    predicted_mat,
    maps_path,
    lowres_path,
    highres_path,
    registration_path,
    nmf_path,
    geometry_path,
    out_path,
    settings,
    band=CH_BAND,
):
    """The ``prediction_check`` stage: one test area's prediction against its measured HR scan, as JSON.

    Three checks at the registered window: :func:`check_prediction` at one
    band; every component map's LR consistency (from the prediction's
    ``maps_path``) beside its true error against the area's HR map
    (:func:`ramansr.consistency.map_errors`, with the area's decomposition
    ``nmf_path``), under ``maps``; and the spectral fidelity at every channel
    the area's scans share (:func:`ramansr.consistency.spectral_fidelity`,
    both scans put on the area's channels and grid by
    :func:`ramansr.preprocess.align_scan` with the area's geometry), under ``spectral``.
    The measured scans go through the run's spectral chain first (``settings``, the config's
    ``preprocess:``; :func:`ramansr.preprocess.spectral_chain`): the rebuilt cube holds the
    Raman signal alone, without the detector offset and the fluorescence baseline.
    """
    registration = read_json(registration_path)
    position, factor = (registration["X"], registration["Y"]), registration["settings"]["factor"]
    record = read_json(geometry_path)
    lowres, highres, predicted = read_scan(lowres_path), read_scan(highres_path), read_scan(predicted_mat)
    # the measured scans as the rebuilt cube is: Raman signal alone, on the area's channels and grid
    signals = {}
    for scan, which in ((lowres, "lowres"), (highres, "highres")):
        cube, wavenumbers = align_scan(scan.cube, scan.wavenumbers, which, record, lowres.wavenumbers)
        signals[which], _ = spectral_chain(cube, wavenumbers, settings, name=scan.name or which)
    first, stop = record["channels"]
    predicted_cube = predicted.cube[..., first:stop]
    band_images = [
        band_image(Scan(cube, wavenumbers, None, name, {}), band)
        for cube, name in (
            (predicted_cube, predicted_mat),
            (signals["lowres"], lowres_path),
            (signals["highres"], highres_path),
        )
    ]
    result = {"band": list(band), **check_prediction(*band_images, position, factor)}

    prediction, area = load_npz(maps_path), load_npz(nmf_path)
    true_psnr, matched = map_errors(
        prediction["predicted_maps"],
        prediction["lowres_maps"],
        area["lowres_maps"],
        area["highres_maps"],
        position,
        factor,
    )
    result["maps"] = [
        {"component": k, "area_component": int(j), "consistency_psnr": float(c), "true_psnr": float(t)}
        for k, (j, c, t) in enumerate(zip(matched, prediction["consistency_psnr"], true_psnr, strict=True))
    ]

    spectral = spectral_fidelity(predicted_cube, signals["lowres"], signals["highres"], position, factor)
    result["spectral"] = {"wavenumbers": [float(v) for v in wavenumbers], **spectral}
    write_json(result, out_path)


def prediction_table(checks, consistencies, margin_db=DEFAULT_MARGIN_DB):
    """The test areas' checks and every prediction's LR consistency, as tables.

    Parameters
    ----------
    checks : dict
        ``{(sample, area): check dict}`` of :func:`check_prediction_file`.
    consistencies : dict
        ``{name: consistency PSNR per map}`` of the LR-only predictions (``predict: scans``).
    margin_db : float
        A map is flagged when its consistency is below the test areas' lowest
        minus this (:func:`ramansr.consistency.far_below`).

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
    import pandas as pd
    from scipy.stats import spearmanr

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
            {"prediction": f"test_area_{sample}_{area}", "sample": sample, "area": area, **entry}
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
    areas, check_paths, names, maps_paths, model_name, csv_path, maps_csv_path, md_path, margin_db=None
):
    """The ``prediction_table`` stage: :func:`prediction_table` as CSV and Markdown; flagged maps also in the log.

    ``names`` and ``maps_paths`` are the LR-only predictions and their ``maps.npz``; ``margin_db`` None
    is ``ramansr.consistency.DEFAULT_MARGIN_DB``.
    """
    margin_db = DEFAULT_MARGIN_DB if margin_db is None else margin_db
    consistencies = {name: load_npz(path)["consistency_psnr"] for name, path in zip(names, maps_paths, strict=True)}
    checks = {tuple(key): read_json(path) for key, path in zip(areas, check_paths, strict=True)}
    table, maps, spearman = prediction_table(checks, consistencies, margin_db)
    write_csv(table.rename(columns=lambda c: c.replace("model_", f"{model_name}_", 1)), csv_path)
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
    flag_line = (
        "**Flagged (LR consistency far below the test areas'): " + ", ".join(sorted(set(flagged["prediction"]))) + "**"
        if len(flagged)
        else "No prediction is flagged."
    )
    labelled = table.rename(columns=lambda c: c.replace("model_", f"{model_name}_", 1))
    write_text(
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
        + labelled.to_markdown(index=False, floatfmt=".3f")
        + "\n\n### LR consistency of every prediction (no HR scan needed)\n\n"
        "Each super-resolved map blurred with the LR objective's PSF and point-sampled at the LR "
        "points, against the LR map: PSNR in dB, data_range 1 (both maps normalised with the LR map's "
        f"range). `true_psnr`: the test areas' error against the measured HR map on the same scale. "
        f"Spearman rank correlation of consistency and true PSNR over the {len(maps.dropna(subset=['true_psnr']))} "
        f"test maps: {spearman:.2f}. A map is flagged when its consistency is under the test maps' "
        f"lowest ({lowest:.2f} dB) minus {margin_db:g} dB. {flag_line}\n\n"
        + maps.to_markdown(index=False, floatfmt=".3f"),
        md_path,
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


def main(argv=None):
    """Command line entry point (``ramansr-predict``); prints the result as JSON."""
    parser = argparse.ArgumentParser(prog="ramansr-predict", description=__doc__.splitlines()[0])
    parser.add_argument("lowres", type=Path, help="LR scan (.mat)")
    parser.add_argument("checkpoint", type=Path, help="trained model checkpoint (best.pt or last.pt)")
    parser.add_argument(
        "--out-prefix",
        type=Path,
        help="writes PREFIX_maps.npz, PREFIX.png, PREFIX.mat (default: LOWRES without suffix + '_sr')",
    )
    parser.add_argument("--out-maps", type=Path, help="overrides PREFIX_maps.npz")
    parser.add_argument("--out-png", type=Path, help="overrides PREFIX.png")
    parser.add_argument("--out-mat", type=Path, help="overrides PREFIX.mat")
    # the checkpoint stores the settings it was trained with; these may repeat them, never contradict them
    parser.add_argument("--n-components", type=int, help="NMF components (default: the checkpoint's)")
    parser.add_argument("--window-length", type=int, help="Savitzky-Golay window (default: the checkpoint's)")
    parser.add_argument("--polyorder", type=int, help="Savitzky-Golay order (default: the checkpoint's)")
    parser.add_argument("--seed", type=int, help="NMF seed (default: the checkpoint's)")
    parser.add_argument("--max-iter", type=int, help="NMF iterations at most (default: the checkpoint's)")
    parser.add_argument("--tol", type=float, help="NMF convergence tolerance (default: the checkpoint's)")
    parser.add_argument("--device", help="cpu, cuda, cuda:1, ... (default: CUDA when available)")
    parser.add_argument("--variable", help="the map to read from a file that holds several")
    parser.add_argument("--image-shape", help="'rows x cols' of a WITec Table export without header lines")
    parser.add_argument(
        "--lowres-na",
        type=float,
        default=DEFAULT_LOWRES_NA,
        help=f"NA of the LR objective, for the LR consistency check (default {DEFAULT_LOWRES_NA})",
    )
    parser.add_argument(
        "--excitation-nm",
        type=float,
        default=DEFAULT_EXCITATION_NM,
        help=f"laser wavelength (nm), for the LR consistency check (default {DEFAULT_EXCITATION_NM:g})",
    )
    parser.add_argument(
        "--allow-step-mismatch",
        action="store_true",
        help="predict a scan whose pixel size differs from the model's trained LR step (default: refuse it)",
    )
    args = parser.parse_args(argv)
    prefix = args.out_prefix or args.lowres.with_name(args.lowres.stem + "_sr")
    result = predict_scan(
        args.lowres,
        args.checkpoint,
        args.out_maps or prefix.with_name(prefix.name + "_maps.npz"),
        args.out_png or prefix.with_name(prefix.name + ".png"),
        args.out_mat or prefix.with_name(prefix.name + ".mat"),
        overrides={
            "n_components": args.n_components,
            "window_length": args.window_length,
            "polyorder": args.polyorder,
            "seed": args.seed,
            "max_iter": args.max_iter,
            "tol": args.tol,
        },
        device=args.device,
        variable=args.variable,
        image_shape=args.image_shape,
        lowres_na=args.lowres_na,
        excitation_nm=args.excitation_nm,
        allow_step_mismatch=args.allow_step_mismatch,
    )
    print(json.dumps(result, indent=2))
    return 0
