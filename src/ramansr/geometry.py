"""The run's geometry: one SR factor from the scans' pixel sizes, and the checks that refuse impossible pairs.

The SR factor is data, not a setting: ``round(LR step / HR step)``, the same
for every area of a run. The ``geometry`` stage writes it, with every area's
steps, fields and spectral overlap, to ``results/geometry.json``; every later
stage takes the factor from there (``pairs.npz`` and the checkpoints carry it
on), so no module keeps its own.

Data contracts
--------------
A scan *header* (written by ``convert`` beside each scan's arrays, JSON) is
``{"shape": [rows, cols, channels], "pixel_size_um": [dy, dx] or null,
"wavenumbers": [...], "mean_spectrum": [...], "source": the file}``.

An area's geometry file (``results/geometry/{sample}/{area}.json``) is
``{sample, area, factor, lowres_step_um: [dy, dx], highres_step_um: [dy, dx],
ratio: [ry, rx], resample: bool, lowres_field_um, highres_field_um: [height,
width], channels: [first, stop] (the LR channels inside the spectral
overlap), lowres_shape, highres_shape: [rows, cols] (the HR one on the resampled grid when
resample)}``; ``geometry.json`` is ``{"factor": int, "areas": [those records]}``.
A field is ``(points - 1) * step`` along each axis, centre to centre.
"""

import sys

import numpy as np
from scipy import ndimage

from ramansr.io_utils import read_json, write_json

#: A step ratio within this relative distance of an integer is taken as that integer.
RATIO_TOLERANCE = 0.02

#: Factors the models can be built for (PixelShuffle stages of 2 and 3).
SUPPORTED_FACTORS = (2, 3, 4, 6, 8)

#: Spectral axes that agree to within this (rel. 1/cm) are the same calibration.
MAX_SPECTRAL_SHIFT = 20.0

#: An axis is taken as shifted when the mean spectra correlate this much better shifted than as they are.
SHIFT_CORRELATION_GAIN = 0.3

#: A scan to predict may have an LR step this far (relative) outside the steps a model was trained on.
STEP_TOLERANCE = 0.05


class GeometryError(ValueError):
    """An area whose scans cannot be paired (the message names the area and the numbers)."""


def scan_header(scan, source=None):
    """The header of a :class:`ramansr.io.Scan`: shape, pixel size, spectral axis, mean spectrum (JSON-ready).

    ``source`` (the file it was read from) is how messages name the scan.
    """
    return {
        "shape": [int(n) for n in scan.cube.shape],
        "pixel_size_um": None if scan.pixel_size_um is None else [float(v) for v in scan.pixel_size_um],
        "wavenumbers": [float(v) for v in scan.wavenumbers],
        "mean_spectrum": [float(v) for v in np.nanmean(scan.cube, axis=(0, 1), dtype=np.float64)],
        "source": None if source is None else str(source),
    }


def save_scan_header(scan, path, source=None):
    """Write :func:`scan_header` of a scan as JSON (the ``convert`` stage's second output)."""
    write_json(scan_header(scan, source), path)


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


def spectral_overlap(lowres_axis, highres_axis, min_fraction, where):
    """The LR channels inside the range both scans cover.

    Parameters
    ----------
    lowres_axis, highres_axis : array-like
        Wavenumbers (rel. 1/cm), each monotonic.
    min_fraction : float
        The overlap must cover at least this fraction of the LR range.
    where : str

    Returns
    -------
    (first, stop) : the slice of LR channels to keep.

    Raises
    ------
    GeometryError
        No overlap, or one under ``min_fraction``; the message gives both ranges.
    """
    lowres_axis, highres_axis = np.asarray(lowres_axis, float), np.asarray(highres_axis, float)
    low = max(lowres_axis.min(), highres_axis.min())
    high = min(lowres_axis.max(), highres_axis.max())
    inside = np.flatnonzero((lowres_axis >= low) & (lowres_axis <= high))
    span = lowres_axis.max() - lowres_axis.min()
    fraction = (high - low) / span if span > 0 else 0.0
    if len(inside) < 2 or fraction < min_fraction:
        raise GeometryError(
            f"{where}: the spectral axes overlap too little: LR {_range(lowres_axis)}, HR {_range(highres_axis)} "
            f"rel. 1/cm; overlap {max(fraction, 0.0):.0%} of the LR range, at least {min_fraction:.0%} needed "
            "(preprocess: min_spectral_overlap)"
        )
    return [int(inside[0]), int(inside[-1]) + 1]


def _bands(axis, spectrum, grid):
    """A mean spectrum on ``grid`` with its broad background removed and unit variance: its bands."""
    order = np.argsort(axis)
    values = np.interp(grid, np.asarray(axis, float)[order], np.asarray(spectrum, float)[order])
    step = grid[1] - grid[0]
    # a background of fluorescence and detector offset varies over hundreds of 1/cm, bands over tens
    values = values - ndimage.gaussian_filter1d(values, 50.0 / step, mode="nearest")
    return (values - values.mean()) / (values.std() or 1.0)


def spectral_shift(lowres_header, highres_header, where, min_fraction=0.5):
    """Refuse an HR scan whose spectra match the LR scan's only with the axis shifted.

    The two mean spectra's bands (background removed) are correlated over the
    overlap of the axes as they are, and with the HR axis shifted by every
    whole LR channel that keeps ``min_fraction`` of the LR range overlapping.
    An axis mislabelled by hundreds of 1/cm passes the overlap check and gives
    maps of the wrong chemistry; only the spectra show it.

    Parameters
    ----------
    lowres_header, highres_header : dict
        Scan headers with ``wavenumbers`` and ``mean_spectrum`` (and ``source``, for the message).
    where : str
    min_fraction : float

    Returns
    -------
    shift : float
        The shift (rel. 1/cm, added to the HR axis) at which the spectra correlate best.

    Raises
    ------
    GeometryError
        When that shift is over ``MAX_SPECTRAL_SHIFT`` and gains at least
        ``SHIFT_CORRELATION_GAIN`` in correlation; names both files, both
        correlations and the shift.
    """
    lowres_axis = np.asarray(lowres_header["wavenumbers"], float)
    highres_axis = np.asarray(highres_header["wavenumbers"], float)
    step = float(np.median(np.abs(np.diff(lowres_axis))))
    low, high = lowres_axis.min(), lowres_axis.max()
    grid = np.arange(low, high + step / 2, step)
    lowres = _bands(lowres_axis, lowres_header["mean_spectrum"], grid)
    reach = int((1 - min_fraction) * len(grid))
    correlations = {}
    for channels in range(-reach, reach + 1):
        shifted = grid + channels * step  # the HR axis value that matches LR grid point i
        inside = (shifted >= highres_axis.min()) & (shifted <= highres_axis.max())
        if inside.sum() < max(min_fraction * len(grid), 3):
            continue
        highres = _bands(highres_axis, highres_header["mean_spectrum"], shifted)
        correlations[channels * step] = float(np.corrcoef(lowres[inside], highres[inside])[0, 1])
    best = max(correlations, key=correlations.get)
    unshifted = correlations.get(0.0, -1.0)
    if abs(best) > MAX_SPECTRAL_SHIFT and correlations[best] - unshifted >= SHIFT_CORRELATION_GAIN:
        names = [header.get("source") or label for header, label in ((lowres_header, "LR"), (highres_header, "HR"))]
        raise GeometryError(
            f"{where}: the spectra do not match: the mean spectrum of {names[1]} correlates {unshifted:.2f} with "
            f"that of {names[0]} on the axes as they are, {correlations[best]:.2f} with the HR axis shifted by "
            f"{best:+.0f} rel. 1/cm; check the spectral axis (calibration) of both files"
        )
    return best


def area_geometry(
    lowres_header,
    highres_header,
    where,
    lowres_step=None,
    highres_step=None,
    min_overlap=0.5,
    *,
    sample=None,
    area=None,
):
    """Steps, factor, fields and spectral overlap of one area (its record in ``geometry.json``).

    ``lowres_step`` / ``highres_step`` (um, a number or (dy, dx)) stand in for a
    file without a pixel size and must agree with a file that has one.
    """
    steps = {}
    for label, header, given in (("LR", lowres_header, lowres_step), ("HR", highres_header, highres_step)):
        from_file = header["pixel_size_um"]
        from_file = None if from_file is None or not np.all(np.isfinite(from_file)) else np.asarray(from_file)
        given = None if given is None else np.broadcast_to(np.asarray(given, float), (2,))
        if from_file is None and given is None:
            raise GeometryError(
                f"{where}: the {label} scan has no pixel size; give it in the samples sheet "
                f"({'lowres' if label == 'LR' else 'highres'}_step_um)"
            )
        if from_file is not None and given is not None and not np.allclose(from_file, given, rtol=1e-3):
            raise GeometryError(
                f"{where}: the {label} scan's pixel size {_um(from_file)} differs from the sheet's {_um(given)}"
            )
        steps[label] = from_file if from_file is not None else given
    factor, ratio, resample = step_ratio(steps["LR"], steps["HR"], where)
    lowres_field = field_um(lowres_header["shape"], steps["LR"])
    highres_field = field_um(highres_header["shape"], steps["HR"])
    check_field(lowres_field, highres_field, where)
    channels = spectral_overlap(lowres_header["wavenumbers"], highres_header["wavenumbers"], min_overlap, where)
    if "mean_spectrum" in lowres_header and "mean_spectrum" in highres_header:  # headers of older runs have none
        spectral_shift(lowres_header, highres_header, where, min_overlap)
    highres_shape = [int(n) for n in highres_header["shape"][:2]]
    if resample:
        highres_shape = [
            resampled_points(n, step, new)
            for n, step, new in zip(highres_shape, steps["HR"], steps["LR"] / factor, strict=True)
        ]
    return {
        "sample": str(sample),
        "area": str(area),
        "lowres_step_um": steps["LR"].tolist(),
        "highres_step_um": steps["HR"].tolist(),
        "factor": factor,
        "ratio": ratio.tolist(),
        "resample": resample,
        "lowres_field_um": lowres_field,
        "highres_field_um": highres_field,
        "channels": channels,
        "lowres_shape": [int(n) for n in lowres_header["shape"][:2]],
        "highres_shape": highres_shape,
    }


def run_geometry(areas, lowres_headers, highres_headers, lowres_steps=None, highres_steps=None, min_overlap=0.5):
    """Every area's geometry and the run's one SR factor.

    Parameters
    ----------
    areas : list of (sample, area)
    lowres_headers, highres_headers : list of dict
        Scan headers (see the module docstring), aligned with ``areas``.
    lowres_steps, highres_steps : list or None
        Per-area steps in um from the samples sheet (None entries: none given).
    min_overlap : float
        See :func:`spectral_overlap`.

    Returns
    -------
    dict
        The contents of ``geometry.json``.

    Raises
    ------
    GeometryError
        Naming every area that cannot be paired, or, when the areas' factors
        differ, listing every area with its factor.
    """
    n = len(areas)
    lowres_steps = lowres_steps or [None] * n
    highres_steps = highres_steps or [None] * n
    records, problems = [], []
    for i, (sample, area) in enumerate(areas):
        try:
            records.append(
                area_geometry(
                    lowres_headers[i],
                    highres_headers[i],
                    area_name(sample, area),
                    lowres_steps[i],
                    highres_steps[i],
                    min_overlap,
                    sample=sample,
                    area=area,
                )
            )
        except GeometryError as error:
            problems.append(str(error))
    if problems:
        raise GeometryError("scan pairs that cannot be used:\n  " + "\n  ".join(problems))
    return combine_areas(records)


def combine_areas(records):
    """The run's geometry from its areas' records: one SR factor and one map size, or an error listing every area's.

    The pairs of a run are stacked into one array per scan (``pairs.npz``) and
    trained in batches, so every area's LR scans, and every area's HR scans,
    must have one grid; the dataset stage would fail on anything else, and
    later than here.
    """
    for scan in ("lowres", "highres"):
        shapes = sorted({tuple(record[f"{scan}_shape"]) for record in records})
        if len(shapes) > 1:
            listing = "\n  ".join(
                f"{area_name(r['sample'], r['area'])}: {r[f'{scan}_shape'][0]} x {r[f'{scan}_shape'][1]} points"
                for r in records
            )
            raise GeometryError(
                f"the areas' {'LR' if scan == 'lowres' else 'HR'} scans differ in size "
                f"({', '.join(f'{rows} x {cols}' for rows, cols in shapes)}); one run takes one size per scan "
                f"(crop the scans to a common grid, or run each size on its own):\n  {listing}"
            )
    factors = sorted({record["factor"] for record in records})
    if len(factors) > 1:
        listing = "\n  ".join(
            f"{area_name(r['sample'], r['area'])}: factor {r['factor']} "
            f"(LR step {_um(r['lowres_step_um'])}, HR step {_um(r['highres_step_um'])})"
            for r in records
        )
        raise GeometryError(f"the areas' SR factors differ ({factors}); one run needs one factor:\n  {listing}")
    return {"factor": factors[0], "areas": records}


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


def area_name(sample, area):
    """How messages name an area."""
    return f"sample {sample}, area {area}"


def read_factor(geometry_path):
    """The SR factor from ``geometry.json`` (or from one area's geometry file, which equals it)."""
    return int(read_json(geometry_path)["factor"])


def area_geometry_file(
    lowres_header_path,
    highres_header_path,
    out_path,
    sample,
    area,
    lowres_step=None,
    highres_step=None,
    min_overlap=0.5,
):
    """The ``area_geometry`` stage: one area's steps, factor, fields and spectral overlap, as JSON.

    Per area, so that a changed scan reruns only its own area's chain; the
    ``geometry`` stage then checks that every area has the run's factor.
    """
    headers = [read_json(path) for path in (lowres_header_path, highres_header_path)]
    record = area_geometry(
        *headers, area_name(sample, area), lowres_step, highres_step, min_overlap, sample=sample, area=area
    )
    if record["resample"]:
        print(
            f"{area_name(sample, area)}: step ratio {_num(record['ratio'])} is not within {RATIO_TOLERANCE:.0%} "
            f"of {record['factor']}: the HR scan is resampled onto the LR step / {record['factor']} grid",
            file=sys.stderr,
        )
    write_json(record, out_path)


def geometry_file(area_paths, out_path):
    """The ``geometry`` stage: every area's geometry file combined into ``geometry.json`` with the run's factor."""
    geometry = combine_areas([read_json(path) for path in area_paths])
    print(f"SR factor of the run: {geometry['factor']}", file=sys.stderr)
    write_json(geometry, out_path)


def _um(values):
    return " x ".join(f"{v:g}" for v in np.atleast_1d(values)) + " um"


def _num(values):
    return " x ".join(f"{v:.3g}" for v in np.atleast_1d(values))


def _field(field):
    return f"{field[0]:g} x {field[1]:g} um (height x width)"


def _range(axis):
    return f"{np.min(axis):.1f}-{np.max(axis):.1f}"
