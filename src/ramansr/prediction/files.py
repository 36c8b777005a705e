"""A prediction's record and files: the maps (.npz), their figure and the rebuilt HR cube.

:func:`prediction_record` is what a prediction did, as JSON-ready data; :func:`write_prediction` writes
the files (:func:`ramansr.prediction.scan.predict_scan` calls both).
"""

import json
from pathlib import Path

import numpy as np

from ramansr.convention import INTENSITY_CONVENTION
from ramansr.io import Scan, write_scan
from ramansr.io_utils import save_npz
from ramansr.prediction.report import plot_maps


def sr_pixel_size(pixel_size_um, factor):
    """The SR grid's pixel size (um): the LR scan's divided by the SR factor; None for a scan without one."""
    return None if pixel_size_um is None else tuple(step / factor for step in pixel_size_um)


def prediction_record(scan, maps, cube, consistency, settings, factor, model_name, paths, outputs):
    """What a prediction did, as JSON-ready data: :func:`predict_scan` returns it, the .npz stores it.

    Parameters
    ----------
    scan : ramansr.io.Scan
    maps : ScanMaps
    cube : RowBlocks
        The rebuilt HR cube.
    consistency : dict
        The LR consistency's summary (:func:`ramansr.prediction.consistency.scan_consistency`).
    settings : dict
    factor : int
    model_name : str
    paths : dict
        ``lowres_path`` and ``checkpoint_path``.
    outputs : dict
        ``out_maps``, ``out_png`` and ``out_mat``.

    Returns
    -------
    dict
        Settings, SR factor, spikes and offset removed, input paths, model name, shapes, SR pixel size,
        output paths and ``consistency`` ({psnr: per map, data_range, na, excitation_nm, psf}).
    """
    pixel_size = sr_pixel_size(scan.pixel_size_um, factor)
    return {
        "settings": settings,
        "factor": factor,
        "spikes": maps.removed["spikes"],
        "offset": np.asarray(maps.removed["offset"]).tolist(),
        "lowres_path": str(paths["lowres_path"]),
        "checkpoint_path": str(paths["checkpoint_path"]),
        "model": model_name,
        "lowres_shape": list(maps.lowres_shape),
        "highres_shape": list(cube.shape),
        "pixel_size_um": None if pixel_size is None else list(pixel_size),
        **{key: str(path) for key, path in outputs.items()},
        "consistency": consistency,
    }


def write_prediction(result, scan, maps, predicted_maps, consistency, residual, cube, uncertainty=None):
    """Write a prediction's three files, at the paths ``result`` names (:func:`prediction_record`).

    ``out_maps`` (.npz) holds ``predicted_maps`` (k, f r, f c) (f the SR factor) and
    ``lowres_maps`` (k, r, c), both normalised with the LR maps' ``map_low`` and ``map_high`` (k,),
    ``spectra`` (k, channels), ``wavenumbers``, ``consistency_psnr`` (k,) (dB, data_range 1),
    ``lowres_residual`` (k, r, c) (re-imaged SR map minus LR map) and ``settings`` (``result`` as
    JSON text); with an ``uncertainty`` (:func:`ramansr.prediction.trust.prediction_uncertainty`) also
    ``uncertainty``, ``lower`` and ``upper`` (k, f r, f c) (the per-pixel RMS error and the interval, on
    ``predicted_maps``' scale), ``predicted_rmse`` (k,) and ``uncertainty_level`` (the interval's
    nominal coverage). ``out_png`` shows the LR maps over the predicted maps over the consistency
    residuals (over the uncertainty). ``out_mat`` is the rebuilt HR cube ``cube``
    (:func:`ramansr.prediction.scan.reconstruct_cube`), written with :func:`ramansr.io.write_scan` (WITec
    layout), in the LR scan's units; its pixel size is the LR scan's divided by the SR factor.
    """
    save_npz(
        result["out_maps"],
        predicted_maps=predicted_maps,
        lowres_maps=maps.normalized,
        map_low=maps.low,
        map_high=maps.high,
        spectra=maps.spectra,
        wavenumbers=scan.wavenumbers,
        consistency_psnr=consistency,
        lowres_residual=residual,
        settings=np.array(json.dumps(result)),
        **uncertainty_arrays(uncertainty),
    )
    name = scan.name or Path(result["lowres_path"]).stem
    plot_maps(
        maps.normalized,
        predicted_maps,
        [result["out_png"]],
        result["factor"],
        scan.pixel_size_um,
        title=f"{name}: {result['model']}",
        residual=residual,
        psnr=consistency,
        uncertainty=None if uncertainty is None else (uncertainty["uncertainty"], uncertainty["predicted_rmse"]),
    )
    meta = {
        "source": result["lowres_path"],
        "super_resolved_with": result["checkpoint_path"],
        "settings": json.dumps(result["settings"]),
        "intensity": "LR scan's units, detector offset and fluorescence baseline removed",
        "intensity_convention": INTENSITY_CONVENTION,
    }
    sr_scan = Scan(
        cube=cube,
        wavenumbers=scan.wavenumbers,
        pixel_size_um=sr_pixel_size(scan.pixel_size_um, result["factor"]),
        name=f"{name}_sr{result['factor']}",
        meta=meta,
    )
    write_scan(sr_scan, result["out_mat"])


def uncertainty_arrays(uncertainty):
    """The .npz arrays of a prediction's uncertainty (:func:`write_prediction`); none without one."""
    if uncertainty is None:
        return {}
    return {
        "uncertainty": uncertainty["uncertainty"],
        "lower": uncertainty["lower"],
        "upper": uncertainty["upper"],
        "predicted_rmse": np.asarray(uncertainty["predicted_rmse"], dtype=np.float64),
        "uncertainty_level": np.float64(uncertainty["level"]),
    }
