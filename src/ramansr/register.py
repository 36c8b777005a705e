"""Find the HR scan's window inside the LR scan by template matching.

Data contract: LR and HR component maps are float32 (k, rows, cols). Each LR
map is upscaled by the run's SR factor (from ``geometry.json``, see
:mod:`ramansr.geometry`: one upscaled pixel has the HR step) and the HR map is located in it with
OpenCV's normalised cross-correlation. A position is (X, Y) = (column, row) of
the window's top-left corner in the upscaled LR map, a float after sub-pixel
refinement.

The upscaled grid follows OpenCV's and PyTorch's half-pixel convention (the
one the SR models' outputs use): upscaled pixel ``j`` sits at LR point
``(j + 0.5) / factor - 0.5``.

A registration is *doubtful* (:func:`doubts`) when its peak is not distinct,
when the components with a distinct peak disagree on the window by more than a
set number of HR pixels, or when the window lies on the border of the search
range (a peak that may be cut off); such areas are kept out of training and
scoring unless the config says otherwise.

How distinct a peak is, is measured against the HR map's own rotations and
mirror images (:data:`ORIENTATIONS`), matched the same way: they have the map's
texture, contrast and noise but not its structure, so their best peak is what
chance gives a map like this one in this LR map. The margin of the peak over
theirs (:func:`peak_margin`) is what a fixed correlation level is not: on a
low-contrast specimen a right window may peak at 0.45, and a component of
noise or drift may peak at 0.87 in the wrong place. No component with a
positive margin says more: the HR scan fits as well rotated or mirrored, so
the scans' orientations may differ (``benchmarks/bench_registration_flag.py``
measures both errors).
"""

import cv2
import numpy as np

from ramansr.io_utils import load_npz, read_json, write_csv, write_json, write_text
from ramansr.truth import read_truth

INTERPOLATIONS = {"nearest": cv2.INTER_NEAREST, "linear": cv2.INTER_LINEAR, "cubic": cv2.INTER_CUBIC}

#: The HR map as measured and its seven other orientations (rotations counter-clockwise, as np.rot90).
ORIENTATIONS = {
    "as measured": lambda image: image,
    "rotated 90 degrees": lambda image: np.rot90(image, 1),
    "rotated 180 degrees": lambda image: np.rot90(image, 2),
    "rotated 270 degrees": lambda image: np.rot90(image, 3),
    "mirrored left-right": lambda image: image[:, ::-1],
    "mirrored up-down": lambda image: image[::-1],
    "transposed": lambda image: image.T,
    "transposed across the other diagonal": lambda image: np.rot90(image, 2).T,
}


def upscale(image, factor, interpolation="linear"):
    """Upscale a 2-D map by an integer factor with OpenCV."""
    rows, cols = image.shape
    return cv2.resize(
        np.asarray(image, dtype=np.float32),
        (cols * factor, rows * factor),
        interpolation=INTERPOLATIONS[interpolation],
    )


def lr_point_to_upscaled(position, factor):
    """Convert a position in LR points (x/step) to upscaled-map pixels.

    Under the half-pixel convention LR point ``p`` is upscaled pixel
    ``factor * p + (factor - 1) / 2``.
    """
    return np.asarray(position, dtype=float) * factor + (factor - 1) / 2


def _subpixel_offset(before, peak, after):
    """Vertex of the parabola through three samples, relative to the middle one."""
    curvature = before - 2 * peak + after
    if curvature >= 0:  # not a maximum: keep the integer peak
        return 0.0
    return float(np.clip(0.5 * (before - after) / curvature, -0.5, 0.5))


def match_window(lr_map, hr_map, factor, interpolation="linear"):
    """Locate an HR map inside its upscaled LR map.

    Parameters
    ----------
    lr_map, hr_map : ndarray, shape (rows, cols)
        One component's LR map and HR map; the upscaled LR map must be at
        least as large as the HR map.
    factor : int
    interpolation : {"nearest", "linear", "cubic"}

    Returns
    -------
    position : ndarray, shape (2,)
        (X, Y) of the best match's top-left corner, sub-pixel refined.
    peak : float
        The normalised cross-correlation at the peak, in [-1, 1]; 0 when either
        map is blank (constant), which matches anywhere equally badly.
    correlation : ndarray of float32
        The full correlation map (``cv2.TM_CCOEFF_NORMED``), zeros for a blank map.
    """
    image = upscale(lr_map, factor, interpolation)
    template = np.asarray(hr_map, dtype=np.float32)
    if template.shape[0] > image.shape[0] or template.shape[1] > image.shape[1]:
        raise ValueError(f"HR map {template.shape} is larger than the {factor}x-upscaled LR map {image.shape}")
    if np.ptp(template) == 0 or np.ptp(image) == 0:
        # OpenCV scores a constant template 1 everywhere: no match is not a perfect one
        shape = (image.shape[0] - template.shape[0] + 1, image.shape[1] - template.shape[1] + 1)
        return np.zeros(2), 0.0, np.zeros(shape, dtype=np.float32)
    correlation = cv2.matchTemplate(image, template, cv2.TM_CCOEFF_NORMED)
    correlation = np.nan_to_num(correlation, nan=-1.0)  # flat regions divide by zero
    _, peak, _, (col, row) = cv2.minMaxLoc(correlation)
    dx = dy = 0.0
    if 0 < col < correlation.shape[1] - 1:
        dx = _subpixel_offset(*correlation[row, col - 1 : col + 2])
    if 0 < row < correlation.shape[0] - 1:
        dy = _subpixel_offset(*correlation[row - 1 : row + 2, col])
    return np.array([col + dx, row + dy]), float(peak), correlation


def orientation_peaks(lr_map, hr_map, factor, interpolation="linear"):
    """The peak correlation of every other orientation of an HR map in its upscaled LR map.

    Returns
    -------
    dict
        ``{orientation: peak}`` over :data:`ORIENTATIONS` but the identity;
        an orientation whose map does not fit the upscaled LR map (a rotated
        non-square window) is left out.
    """
    peaks = {}
    for name, orient in ORIENTATIONS.items():
        template = np.ascontiguousarray(orient(np.asarray(hr_map)))
        if (
            name == "as measured"
            or template.shape[0] > lr_map.shape[0] * factor
            or template.shape[1] > lr_map.shape[1] * factor
        ):
            continue
        peaks[name] = match_window(lr_map, template, factor, interpolation)[1]
    return peaks


def register_area(lr_maps, hr_maps, factor, interpolation="linear"):
    """Register every component and combine them into one position per area.

    The consensus is the median of the per-component positions weighted by
    their peak margins (:func:`peak_margin`; a component without a positive
    margin has no weight), so a component that is only noise or drift, which
    may peak high anywhere, cannot pull the window away.

    Returns
    -------
    dict
        ``components``: list of {component, X, Y, peak, orientation_peaks,
        peak_margin, closest_orientation} (see :func:`orientation_peaks` and
        :func:`peak_margin`); ``X``, ``Y``: the consensus position;
        ``confidence``: the highest peak correlation among the components;
        ``peak_margin``: the highest peak margin among them; ``search_range``:
        the largest X and Y a window can have (the smallest is 0).
    """
    components = []
    for index, (lr_map, hr_map) in enumerate(zip(lr_maps, hr_maps, strict=True)):
        (x, y), peak, correlation = match_window(lr_map, hr_map, factor, interpolation)
        others = orientation_peaks(lr_map, hr_map, factor, interpolation)
        margin, closest = peak_margin(peak, others)
        components.append(
            {
                "component": index,
                "X": float(x),
                "Y": float(y),
                "peak": peak,
                "orientation_peaks": others,
                "peak_margin": margin,
                "closest_orientation": closest,
            }
        )
    search_range = [correlation.shape[1] - 1, correlation.shape[0] - 1]
    weights = np.clip([c["peak_margin"] for c in components], 0.0, None)
    if weights.sum() == 0:
        weights = np.ones(len(components))
    x = weighted_median([c["X"] for c in components], weights)
    y = weighted_median([c["Y"] for c in components], weights)
    return {
        "components": components,
        "X": x,
        "Y": y,
        "confidence": float(max(c["peak"] for c in components)),
        "peak_margin": float(max(c["peak_margin"] for c in components)),
        "search_range": search_range,
    }


def peak_margin(peak, others):
    """How much better the HR map fits as measured than in its best other orientation.

    The margin is relative: the share of the best other orientation's misfit
    (1 minus its peak correlation) that the map as measured removes. So 0.99
    against 0.96 (a smooth window, a gradient, that fits nearly as well
    mirrored) counts as much as 0.55 against 0.40 (a low-contrast one): both
    are peaks no other orientation comes near, where an absolute difference of
    0.03 would be noise in the second. Measured in
    ``benchmarks/bench_registration_flag.py``.

    Parameters
    ----------
    peak : float
        The peak correlation of the HR map as measured.
    others : dict
        ``{orientation: peak}`` of :func:`orientation_peaks`.

    Returns
    -------
    margin : float
        ``(peak - best other) / (1 - best other)``, at most 1; negative when
        another orientation fits better (``peak`` itself when none fits).
    closest : str or None
        That orientation.
    """
    if not others:
        return float(peak), None
    closest = max(others, key=others.get)
    return float((peak - others[closest]) / max(1.0 - others[closest], 1e-6)), closest


def doubts(registration, min_peak_margin, max_disagreement_px):
    """The reasons to doubt one area's registration (an empty list when there are none).

    Parameters
    ----------
    registration : dict
        From :func:`register_area`.
    min_peak_margin : float
        The most distinct component's peak margin (:func:`peak_margin`) must
        reach this; when no component's margin is above zero, the reason says
        that the scans' orientations may differ.
    max_disagreement_px : float
        Components whose peak margin reaches ``min_peak_margin`` must lie
        within this many HR pixels of the consensus window.

    Returns
    -------
    list of str
    """
    reasons = []
    best = max(registration["components"], key=lambda c: c["peak_margin"])
    closest = best["closest_orientation"]
    if best["peak_margin"] <= 0:
        reasons.append(
            f"every component's HR map fits as well or better in another orientation (component "
            f"{best['component']}: {closest}, peak correlation {best['orientation_peaks'][closest]:.2f} against "
            f"{best['peak']:.2f} as measured): check that the LR and HR scans have the same orientation"
        )
    elif best["peak_margin"] < min_peak_margin:
        reasons.append(
            f"peak not distinct: component {best['component']}'s peak correlation {best['peak']:.2f} against "
            f"{best['orientation_peaks'][closest]:.2f} for its HR map {closest}, a margin of "
            f"{best['peak_margin']:.2f} < {min_peak_margin:g}"
        )
    strong = [c for c in registration["components"] if c["peak_margin"] >= min_peak_margin]
    if len(strong) > 1:
        spread = max(np.hypot(c["X"] - registration["X"], c["Y"] - registration["Y"]) for c in strong)
        if spread > max_disagreement_px:
            reasons.append(f"components disagree by {spread:.1f} HR px > {max_disagreement_px:g}")
    x_max, y_max = registration["search_range"]
    if not (0 < registration["X"] < x_max and 0 < registration["Y"] < y_max):
        reasons.append(
            f"window at ({registration['X']:.1f}, {registration['Y']:.1f}) on the border of the search "
            f"range [0, {x_max}] x [0, {y_max}]"
        )
    return reasons


def weighted_median(values, weights):
    """The value at which the cumulative weight first reaches half the total."""
    order = np.argsort(values)
    values = np.asarray(values, dtype=float)[order]
    cumulative = np.cumsum(np.asarray(weights, dtype=float)[order])
    return float(values[np.searchsorted(cumulative, 0.5 * cumulative[-1])])


def register_area_file(
    nmf_path, geometry_path, out_path, interpolation="linear", min_peak_margin=0.2, max_disagreement_px=2.0
):
    """The ``register`` stage for one area: JSON with the position, its doubts and its settings.

    The SR factor is read from ``geometry_path``, the area's geometry file
    (every area has the run's factor: the ``geometry`` stage checks it). A doubtful
    registration is reported on stderr (the job's log) and listed under ``doubts``.
    """
    import sys

    from ramansr.geometry.areas import read_factor

    factor = read_factor(geometry_path)
    nmf = load_npz(nmf_path)
    result = register_area(nmf["lowres_maps"], nmf["highres_maps"], factor, interpolation)
    result["doubts"] = doubts(result, min_peak_margin, max_disagreement_px)
    if result["doubts"]:
        print(f"{nmf_path}: doubtful registration: {'; '.join(result['doubts'])}", file=sys.stderr)
    result["settings"] = {
        "factor": factor,
        "interpolation": interpolation,
        "method": "cv2.TM_CCOEFF_NORMED",
        "min_peak_margin": min_peak_margin,
        "max_disagreement_px": max_disagreement_px,
    }
    write_json(result, out_path)


def registration_table(registrations, truths=None):
    """One row per area: the window, its confidence, the doubts, and (simulated data) the error.

    Parameters
    ----------
    registrations : dict
        ``{(sample, area): registration dict}`` of :func:`register_area_file`
        (the SR factor is read from its settings).
    truths : dict or None
        ``{(sample, area): (X, Y)}`` true top-left in upscaled pixels with
        upscaled pixel ``j`` at LR point ``j / factor`` (the simulator's
        convention), converted here to the half-pixel convention.

    Returns
    -------
    pandas.DataFrame
        sample, area, X, Y, confidence (the best peak correlation), peak_margin
        (:func:`peak_margin`), doubtful (the reasons, "" when none);
        with truths also X_true, Y_true, error_x, error_y, error (HR px).
    """
    # deferred: the per-area stages that import this module write no table and need no pandas
    import pandas as pd

    rows = []
    for key, registration in registrations.items():
        row = {
            "sample": key[0],
            "area": key[1],
            "X": registration["X"],
            "Y": registration["Y"],
            "confidence": registration["confidence"],
            "peak_margin": registration["peak_margin"],
            "doubtful": "; ".join(registration.get("doubts", [])),
        }
        if truths is not None:
            factor = registration["settings"]["factor"]
            x_true, y_true = lr_point_to_upscaled(np.asarray(truths[key]) / factor, factor)
            error_x, error_y = registration["X"] - x_true, registration["Y"] - y_true
            row.update(
                X_true=x_true, Y_true=y_true, error_x=error_x, error_y=error_y, error=float(np.hypot(error_x, error_y))
            )
        rows.append(row)
    return pd.DataFrame(rows)


def registration_table_file(areas, registration_paths, truth_paths, csv_path, md_path):
    """The ``registration_table`` stage: every area's window and doubts (and error on simulated data).

    ``truth_paths`` is empty for real data, which has no truth.
    """
    registrations = {key: read_json(path) for key, path in zip(map(tuple, areas), registration_paths, strict=True)}
    truths = None
    if truth_paths:
        truths = {
            key: tuple(read_truth(path)["position"]) for key, path in zip(map(tuple, areas), truth_paths, strict=True)
        }
    table = registration_table(registrations, truths)
    write_csv(table, csv_path)
    doubtful = table.loc[table["doubtful"] != ""]
    lines = [f"### Registration of the HR window, {len(table)} areas\n"]
    if truths is not None:
        lines.append(
            f"Error against the simulator's truth, in HR pixels: median {table['error'].median():.2f}, "
            f"max {table['error'].max():.2f}.\n"
        )
    if len(doubtful):
        names = ", ".join(f"{r.sample}/{r.area}" for r in doubtful.itertuples())
        lines.append(
            f"**Doubtful registrations ({len(doubtful)}): {names}**; kept out of training and scoring "
            "unless `register: keep_doubtful` is true.\n"
        )
    else:
        lines.append("No registration is doubtful.\n")
    write_text("\n".join(lines) + "\n" + table.to_markdown(index=False, floatfmt=".2f"), md_path)
