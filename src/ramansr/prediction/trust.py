"""How far to trust a prediction without an HR scan: its calibrated per-pixel uncertainty.

A prediction of a model with a calibration (``calibration.json`` beside its checkpoint, written by the
``uncertainty`` stage, :func:`ramansr.uncertainty.stages.calibrate_model_file`) gets
:func:`ramansr.uncertainty.calibration.map_uncertainty` of its SR maps: the equivariant bootstrap through the
scan's own LR imaging (:func:`ramansr.prediction.consistency.scan_imaging`, the optics of the LR
consistency) and the gradient part, weighed and scaled on the validation areas. Each map's predicted
RMSE (:func:`ramansr.uncertainty.calibration.predicted_rmse`) answers "may I skip the HR scan?": a map above
the threshold (the config's ``uncertainty: threshold_rmse``) is flagged.
"""

import functools
import sys
from pathlib import Path

import numpy as np

from ramansr.checkpoint import checkpoint_joint_maps
from ramansr.inference import load_model, super_resolve
from ramansr.io_utils import read_json
from ramansr.optics import reimage_lowres
from ramansr.prediction.consistency import scan_imaging
from ramansr.uncertainty.calibration import map_uncertainty, predicted_rmse

#: The file name of a model's calibration, beside its checkpoint (``results/models/{model}/``).
CALIBRATION_NAME = "calibration.json"


def default_calibration(checkpoint_path):
    """``calibration.json`` beside a checkpoint when it exists, else None."""
    path = Path(checkpoint_path).with_name(CALIBRATION_NAME)
    return path if path.is_file() else None


def read_calibration(path, *, name):
    """A model's calibration, or None (logged) for no path or a calibration without weights.

    Parameters
    ----------
    path : path-like or None
        ``calibration.json`` of :func:`ramansr.uncertainty.stages.calibrate_model_file`.
    name : str
        How the log names the prediction.

    Returns
    -------
    dict or None
    """
    if path is None:
        print(f"{name}: no calibration for the model: the prediction has no uncertainty", file=sys.stderr)
        return None
    calibration = read_json(path)
    if calibration.get("weights") is None or calibration.get("quantile") is None:
        print(f"{name}: {path} is uncalibrated (no pairs to calibrate on): no uncertainty", file=sys.stderr)
        return None
    return calibration


def above_threshold(rmse, threshold_rmse):
    """Which predicted RMSEs are above the threshold; None flags none.

    Parameters
    ----------
    rmse : array-like of float
    threshold_rmse : float or None

    Returns
    -------
    ndarray of bool, ``rmse``'s shape
    """
    rmse = np.asarray(rmse, dtype=float)
    return rmse > (np.inf if threshold_rmse is None else threshold_rmse)


def prediction_uncertainty(checkpoint, predicted_maps, lowres_maps, pixel_size_um, calibration, **options):
    """The calibrated uncertainty of one prediction's SR maps; each map's predicted RMSE goes to the log.

    Parameters
    ----------
    checkpoint : dict
        The loaded checkpoint; a joint model's prediction gets no uncertainty (None, logged): the
        bootstrap super-resolves map by map.
    predicted_maps : ndarray, (k, factor h, factor w)
    lowres_maps : ndarray, (k, h, w)
        Both normalised with the LR maps' range.
    pixel_size_um : (row step, column step) or None
        The LR scan's.
    calibration : dict or None
        Of :func:`read_calibration`; None: no uncertainty (None).
    **options
        ``na``, ``excitation_nm`` (the LR objective's, as the LR consistency), ``device``, ``name``
        (for the log), ``threshold_rmse`` (float or None: maps above it are named in the log).

    Returns
    -------
    dict or None
        ``uncertainty``, ``lower``, ``upper`` (float32, ``predicted_maps``' shape, the maps' units),
        ``predicted_rmse`` (k,), ``level``.
    """
    name = options["name"]
    if calibration is None:
        return None
    if checkpoint_joint_maps(checkpoint) is not None:
        print(f"{name}: a joint model's prediction has no uncertainty", file=sys.stderr)
        return None
    factor = predicted_maps.shape[-1] // lowres_maps.shape[-1]
    imaging = scan_imaging(pixel_size_um, na=options["na"], excitation_nm=options["excitation_nm"])
    model_sr = functools.partial(super_resolve, load_model(checkpoint, options.get("device")))
    uncertainty, lower, upper = map_uncertainty(
        predicted_maps, lowres_maps, model_sr, functools.partial(reimage_lowres, factor=factor, **imaging), calibration
    )
    rmse = predicted_rmse(uncertainty)
    level = float(calibration["level"])
    print(
        f"{name}: predicted RMSE per map (calibrated uncertainty, {100 * level:g} % intervals, maps' units): "
        + ", ".join(f"{value:.4f}" for value in rmse),
        file=sys.stderr,
    )
    threshold = options.get("threshold_rmse")
    flagged = np.flatnonzero(above_threshold(rmse, threshold))
    if len(flagged):
        print(
            f"{name}: predicted RMSE above {threshold:g} (take the HR scan): component "
            + ", ".join(f"{k} ({rmse[k]:.4f})" for k in flagged),
            file=sys.stderr,
        )
    return {"uncertainty": uncertainty, "lower": lower, "upper": upper, "predicted_rmse": rmse, "level": level}
