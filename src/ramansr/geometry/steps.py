"""Pixel steps: the SR factor of an LR and an HR step, fields, resampled grids, and a scan's step against a model's."""

import sys

import numpy as np

from ramansr.geometry import GeometryError, _num, _um

#: A step ratio within this relative distance of an integer is taken as that integer.
RATIO_TOLERANCE = 0.02

#: Factors the models can be built for (PixelShuffle stages of 2 and 3).
SUPPORTED_FACTORS = (2, 3, 4, 6, 8)

#: A scan to predict may have an LR step this far (relative) outside the steps a model was trained on.
STEP_TOLERANCE = 0.05


def step_ratio(lowres_step, highres_step, where):
    """The SR factor of one area and whether its HR scan must be resampled.

    Parameters
    ----------
    lowres_step, highres_step : (dy, dx) in um
    where : str
        The area's name, for the messages.

    Returns
    -------
    factor : int
        ``round(LR step / HR step)``, equal along both axes.
    ratio : ndarray, (2,)
        The exact ratios (dy, dx).
    resample : bool
        True when a ratio is not within ``RATIO_TOLERANCE`` of ``factor``: the HR
        scan is then resampled onto the LR step / factor grid.

    Raises
    ------
    GeometryError
        Steps not positive, axes with different factors, or a factor below 2
        (an "HR" scan with the LR pixel size) or one the models cannot build.
    """
    lowres_step = np.asarray(lowres_step, dtype=float)
    highres_step = np.asarray(highres_step, dtype=float)
    if not (np.all(lowres_step > 0) and np.all(highres_step > 0)):
        raise GeometryError(
            f"{where}: pixel sizes must be positive, got LR {lowres_step.tolist()} um and HR {highres_step.tolist()} um"
        )
    ratio = lowres_step / highres_step
    factors = np.rint(ratio).astype(int)
    steps = f"LR step {_um(lowres_step)}, HR step {_um(highres_step)} (ratio {_num(ratio)})"
    if factors[0] != factors[1]:
        raise GeometryError(f"{where}: the two axes give different SR factors: {steps}")
    factor = int(factors[0])
    if factor < 2:
        raise GeometryError(
            f"{where}: the HR scan is not finer than the LR scan: {steps}; an SR factor of at least 2 is needed"
        )
    if factor not in SUPPORTED_FACTORS:
        raise GeometryError(f"{where}: SR factor {factor} from {steps} is not one of {list(SUPPORTED_FACTORS)}")
    resample = bool(np.any(np.abs(ratio - factor) > RATIO_TOLERANCE * factor))
    return factor, ratio, resample


def field_um(shape, step):
    """(height, width) in um of a scan of ``shape`` (rows, cols, ...) with ``step`` (dy, dx)."""
    return [float((shape[0] - 1) * step[0]), float((shape[1] - 1) * step[1])]


def resampled_points(points, step, new_step):
    """How many points of a ``new_step`` grid fit in a scan line of ``points`` at ``step`` (first points shared)."""
    return int(np.floor((points - 1) * step / new_step + 1e-9)) + 1


def check_field(lowres_field, highres_field, where):
    """Refuse an HR field that cannot lie inside the LR field."""
    if highres_field[0] > lowres_field[0] or highres_field[1] > lowres_field[1]:
        raise GeometryError(
            f"{where}: the HR field {_field(highres_field)} does not fit inside the LR field {_field(lowres_field)}"
        )


def trained_steps(geometry):
    """The range of LR and HR steps (um) over a run's areas and axes, which the checkpoints record.

    Parameters
    ----------
    geometry : dict
        The contents of ``geometry.json``.

    Returns
    -------
    dict
        ``{"lowres": [smallest, largest], "highres": [smallest, largest]}``; an
        HR scan resampled onto the LR step / factor grid counts with that step.
    """
    lowres, highres = [], []
    for record in geometry["areas"]:
        lowres += record["lowres_step_um"]
        step = (
            np.asarray(record["lowres_step_um"]) / record["factor"] if record["resample"] else record["highres_step_um"]
        )
        highres += [float(v) for v in step]
    return {"lowres": [min(lowres), max(lowres)], "highres": [min(highres), max(highres)]}


def check_trained_step(step_um, steps, where, allow_mismatch=False, tolerance=STEP_TOLERANCE):
    """Refuse a scan to super-resolve whose pixel size is not the LR step the model was trained on.

    A model trained on 2 -> 0.5 um pairs turns a 1.5 um scan into 0.375 um pixels whose
    content it has never seen; nothing in the output would show it.

    Parameters
    ----------
    step_um : (dy, dx) or None
        The scan's pixel size (None: unknown).
    steps : dict or None
        The checkpoint's ``steps_um`` (:func:`trained_steps`); None for a checkpoint from before it.
    where : str
        The scan, for the messages.
    allow_mismatch : bool
        Warn (stderr) instead of refusing.
    tolerance : float
        Relative distance allowed outside the trained LR steps.

    Raises
    ------
    GeometryError
        A step outside the trained range widened by ``tolerance``, naming both steps.
    """
    if steps is None:
        print(
            f"{where}: warning: the checkpoint records no training steps (trained before they were recorded); "
            "the scan's pixel size is not checked",
            file=sys.stderr,
        )
        return
    if step_um is None:
        print(
            f"{where}: warning: the scan has no pixel size; it is not checked against the trained LR step",
            file=sys.stderr,
        )
        return
    low, high = steps["lowres"]
    if np.all((np.asarray(step_um) >= low * (1 - tolerance)) & (np.asarray(step_um) <= high * (1 + tolerance))):
        return
    trained = _um(low) if low == high else f"{low:g}-{high:g} um"
    message = (
        f"{where}: the scan's step {_um(step_um)} is not the LR step the model was trained on ({trained}, "
        f"HR step {_num(steps['highres'])} um; tolerance {tolerance:.0%}): its output would claim a pixel size "
        "the model never learnt"
    )
    if not allow_mismatch:
        raise GeometryError(message + "; --allow-step-mismatch predicts it anyway")
    print(f"warning: {message}; predicted anyway (--allow-step-mismatch)", file=sys.stderr)


def _field(field):
    return f"{field[0]:g} x {field[1]:g} um (height x width)"
