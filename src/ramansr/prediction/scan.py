"""Super-resolve a new LR-only scan with a trained model: scan -> maps -> SR maps -> rebuilt HR cube.

The scan goes through the training data's processing (the detector offset
and the fluorescence baseline removed, despiking, Savitzky-Golay smoothing,
per-channel scaling, NMF, per-map min-max normalisation: :func:`scan_maps`, the one chain of
:func:`ramansr.preprocess.spectral_chain`) with the settings stored in the checkpoint; every component map
is super-resolved by the checkpoint's SR factor (:func:`super_resolve_maps`); the predicted maps times the
NMF spectra, with both scalings undone, give the HR hyperspectral cube (:func:`reconstruct_cube`). A
joint model super-resolves all the maps in one pass; a new scan has no
selection, so every map enters, where training gave a dropped component zeros. The
model was trained to map an LR map to its HR map on the LR map's own scale
(``INTENSITY_CONVENTION`` of :mod:`ramansr.convention`, recorded in the
checkpoint), so the maps and the cube come out on the LR scan's scale: the
Raman counts (offset and baseline removed) the LR objective would have collected at HR sampling.

:func:`predict_scan` runs the steps (with the calibrated uncertainty of :mod:`ramansr.prediction.trust`)
and :func:`~ramansr.prediction.files.write_prediction` writes the maps, their figure and the cube.
"""

import time
from typing import NamedTuple

import numpy as np

from ramansr.bands import component_channels
from ramansr.checkpoint import check_convention, checkpoint_factor, checkpoint_joint_maps, read_checkpoint
from ramansr.convention import normalize_maps
from ramansr.decompose import fit_nmf
from ramansr.geometry.steps import check_trained_step
from ramansr.inference import load_model, super_resolve
from ramansr.io import RowBlocks, parse_image_shape, read_scan
from ramansr.io_utils import ROWS_PER_BLOCK
from ramansr.optics import DEFAULT_EXCITATION_NM, DEFAULT_LOWRES_NA
from ramansr.prediction.consistency import scan_consistency
from ramansr.prediction.files import prediction_record, write_prediction
from ramansr.prediction.trust import above_threshold, prediction_uncertainty, read_calibration
from ramansr.preprocess import preprocess_cube, unscale_channels
from ramansr.processing import LEGACY_DEFAULTS, PROCESSING_SETTINGS


class ScanMaps(NamedTuple):
    """A scan's component maps and what it takes to rebuild its cube from them (:func:`scan_maps`)."""

    normalized: np.ndarray
    """(k, rows, cols) float32: the NMF maps, each min-max normalised to [0, 1]."""
    low: np.ndarray
    """(k,): each map's minimum, which the normalisation removed."""
    high: np.ndarray
    """(k,): each map's maximum."""
    spectra: np.ndarray
    """(k, channels): the NMF component spectra (of the channel-scaled cube)."""
    data_min: np.ndarray
    """(channels,): each channel's low end, which the preprocessing's scaling removed."""
    data_max: np.ndarray
    """(channels,): each channel's high end."""
    removed: dict
    """What the spectral chain removed (:func:`ramansr.preprocess.spectral_chain`'s record)."""
    lowres_shape: tuple
    """(rows, cols, channels) of the scan's cube, which :func:`scan_maps` released."""


def scan_maps(scan, settings, *, name):
    """A scan's component maps: the spectral chain, channel scaling, NMF, each map normalised to [0, 1].

    Parameters
    ----------
    scan : ramansr.io.Scan
        The LR scan. Its ``cube`` is used in place and then released (set to None): a lab-size scan
        is hundreds of MB, not needed again once preprocessed, and NMF makes working copies.
    settings : mapping
        The processing settings (every key of ``ramansr.processing.PROCESSING_SETTINGS``), the
        checkpoint's (:func:`resolve_pipeline`).
    name : str
        How the log and errors name the scan.

    Returns
    -------
    ScanMaps
    """
    lowres_shape = scan.cube.shape
    scaled_cube, data_min, data_max, removed = preprocess_cube(
        scan.cube, scan.wavenumbers, settings, name=name, overwrite=True
    )
    scan.cube = None
    nmf_maps, spectra, _ = fit_nmf(
        scaled_cube,
        settings["n_components"],
        seed=settings["seed"],
        max_iter=settings["max_iter"],
        tol=settings["tol"],
    )
    del scaled_cube
    maps, low, high = normalize_maps(nmf_maps)
    return ScanMaps(maps, low, high, spectra, data_min, data_max, removed, lowres_shape)


def super_resolve_maps(checkpoint, maps, spectra, wavenumbers, device=None):
    """Every component map super-resolved by the checkpoint's model, on the LR map's scale.

    Parameters
    ----------
    checkpoint : dict
        A loaded checkpoint (:func:`ramansr.checkpoint.read_checkpoint`).
    maps : ndarray, (k, rows, cols)
        The normalised LR maps (:func:`scan_maps`).
    spectra : ndarray, (k, channels)
        Their NMF spectra, which place each map in a joint model's channels.
    wavenumbers : ndarray, (channels,)
    device : str or torch.device or None
        None picks CUDA when available, else CPU.

    Returns
    -------
    ndarray of float32, (k, factor rows, factor cols)
        Not clipped to [0, 1]: an HR window may reach beyond the LR map's range.
    """
    model = load_model(checkpoint, device)
    if checkpoint_joint_maps(checkpoint) is None:
        return super_resolve(model, maps)
    # a joint model: all of the scan's maps in one pass, in the channel order it was trained with
    channels = component_channels(spectra, wavenumbers)
    stacked = np.empty_like(maps)
    stacked[channels] = maps
    return super_resolve(model, stacked[None], stacks=True)[0][channels]


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


def read_lowres_scan(lowres_path, *, variable, image_shape):
    """The LR scan to predict, read with :func:`ramansr.io.read_scan`; errors say how to choose or shape it."""
    try:
        grid = parse_image_shape(image_shape)
    except ValueError as error:
        raise ValueError(f"{lowres_path}: image shape {image_shape!r}: {error}") from error
    return read_scan(
        lowres_path,
        variable,
        grid,
        choose_with="variable: of the scan under predict: scans (or --variable)",
        shape_from="shape: 'rows x cols' of the scan under predict: scans (or --image-shape)",
    )


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
    calibration=None,
    threshold_rmse=None,
):
    """Super-resolve every component map of an LR scan, rebuild the HR cube, and check both against the LR scan.

    The check needs no HR scan: every SR map, imaged again by the LR
    acquisition (:func:`ramansr.prediction.consistency.scan_consistency`: the Airy PSF
    of ``lowres_na`` at ``excitation_nm`` on the scan's pixel size, point
    sampling at the LR points), is scored against its LR map; the PSNR per map
    goes to the log, the .npz, the returned dict and the figure's third row.
    With a ``calibration``, the SR maps get their calibrated uncertainty through the same imaging
    (:func:`ramansr.prediction.trust.prediction_uncertainty`): the .npz and the figure's last row
    carry it, and each map's predicted RMSE goes to the log and the returned dict.

    Parameters
    ----------
    lowres_path : path-like
        The LR scan (.mat, any format :func:`ramansr.io.read_scan` reads).
    checkpoint_path : path-like
        ``best.pt`` or ``last.pt`` of :func:`ramansr.train.train_model`.
    out_maps, out_png, out_mat : path-like
        The files :func:`~ramansr.prediction.files.write_prediction` writes: maps (.npz), figure, rebuilt HR cube.
    overrides : dict or None
        Processing settings (keys of ``ramansr.processing.PROCESSING_SETTINGS``) given by the user; they
        must agree with the checkpoint's (see :func:`resolve_pipeline`).
    device : str or torch.device or None
        None picks CUDA when available, else CPU.
    variable, image_shape : str or None
        The map to read from a file that holds several; 'rows x cols' of a WITec Table export without
        header lines (see :func:`ramansr.io.read_scan`).
    lowres_na, excitation_nm : float
        The LR objective's numerical aperture and the laser wavelength (nm), for the consistency's PSF.
    allow_step_mismatch : bool
        Predict a scan whose pixel size is not the LR step the model was trained on, with a warning,
        instead of refusing it (:func:`ramansr.geometry.steps.check_trained_step`).
    calibration : path-like or None
        The model's ``calibration.json`` (the ``uncertainty`` stage's); None: no uncertainty.
    threshold_rmse : float or None
        Maps whose predicted RMSE is above it are named in the log (take the HR scan); None: none.

    Returns
    -------
    dict
        :func:`prediction_record`, with the wall time in ``seconds``.
    """
    started = time.perf_counter()
    # read once, and every check on it made before minutes of preprocessing and NMF
    checkpoint = read_checkpoint(checkpoint_path)
    model_name, factor = check_convention(checkpoint, checkpoint_path), checkpoint_factor(checkpoint)
    settings = resolve_pipeline(checkpoint, overrides)
    scan = read_lowres_scan(lowres_path, variable=variable, image_shape=image_shape)
    check_trained_step(scan.pixel_size_um, checkpoint.get("steps_um"), str(lowres_path), allow_step_mismatch)
    maps = scan_maps(scan, settings, name=str(lowres_path))
    predicted_maps = super_resolve_maps(checkpoint, maps.normalized, maps.spectra, scan.wavenumbers, device)
    cube = reconstruct_cube(predicted_maps, maps.low, maps.high, maps.spectra, maps.data_min, maps.data_max)
    imaging = {"na": lowres_na, "excitation_nm": excitation_nm, "name": str(lowres_path)}
    consistency, residual, summary = scan_consistency(
        predicted_maps, maps.normalized, factor, scan.pixel_size_um, **imaging
    )
    uncertainty = prediction_uncertainty(
        checkpoint,
        predicted_maps,
        maps.normalized,
        scan.pixel_size_um,
        read_calibration(calibration, name=imaging["name"]),
        **imaging,
        device=device,
        threshold_rmse=threshold_rmse,
    )
    paths = {"lowres_path": lowres_path, "checkpoint_path": checkpoint_path}
    outputs = {"out_maps": out_maps, "out_png": out_png, "out_mat": out_mat}
    result = prediction_record(scan, maps, cube, summary, settings, factor, model_name, paths, outputs)
    result["uncertainty"] = uncertainty_record(uncertainty, threshold_rmse)
    write_prediction(result, scan, maps, predicted_maps, consistency, residual, cube, uncertainty)
    result["seconds"] = time.perf_counter() - started
    return result


def uncertainty_record(uncertainty, threshold_rmse):
    """A prediction's uncertainty as JSON-ready data: None without one, else level, predicted_rmse, flagged.

    ``flagged`` lists the components whose predicted RMSE is above ``threshold_rmse`` (None: none).
    """
    if uncertainty is None:
        return None
    rmse = [float(value) for value in uncertainty["predicted_rmse"]]
    flagged = [int(k) for k in np.flatnonzero(above_threshold(rmse, threshold_rmse))]
    return {"level": uncertainty["level"], "predicted_rmse": rmse, "threshold_rmse": threshold_rmse, "flagged": flagged}
