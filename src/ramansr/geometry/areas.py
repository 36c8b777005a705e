"""Scan headers, one area's geometry record, the run's one SR factor from every area's, and their stages."""

import sys

import numpy as np

from ramansr.geometry import GeometryError, _num, _um
from ramansr.geometry.spectral import spectral_overlap, spectral_shift
from ramansr.geometry.steps import RATIO_TOLERANCE, check_field, field_um, resampled_points, step_ratio
from ramansr.io_utils import read_json, write_json


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
        Scan headers (see :mod:`ramansr.geometry`), aligned with ``areas``.
    lowres_steps, highres_steps : list or None
        Per-area steps in um from the samples sheet (None entries: none given).
    min_overlap : float
        See :func:`~ramansr.geometry.spectral.spectral_overlap`.

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
