"""Find the HR scan's window inside the LR scan by template matching.

Data contract: LR and HR component maps are float32 (k, rows, cols). Each LR
map is upscaled by ``factor`` (so that one upscaled pixel has the HR step at
the paper's 2 um / 0.5 um geometry) and the HR map is located in it with
OpenCV's normalised cross-correlation. A position is (X, Y) = (column, row) of
the window's top-left corner in the upscaled LR map, a float after sub-pixel
refinement.

The upscaled grid follows OpenCV's and PyTorch's half-pixel convention (the
one the SR models' outputs use): upscaled pixel ``j`` sits at LR point
``(j + 0.5) / factor - 0.5``.
"""

import json

import cv2
import numpy as np
import pandas as pd

from ramansr.io_utils import atomic_path, load_npz, write_json

INTERPOLATIONS = {"nearest": cv2.INTER_NEAREST, "linear": cv2.INTER_LINEAR, "cubic": cv2.INTER_CUBIC}


def upscale(image, factor=4, interpolation="linear"):
    """Upscale a 2-D map by an integer factor with OpenCV."""
    rows, cols = image.shape
    return cv2.resize(
        np.asarray(image, dtype=np.float32),
        (cols * factor, rows * factor),
        interpolation=INTERPOLATIONS[interpolation],
    )


def lr_point_to_upscaled(position, factor=4):
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


def match_window(lr_map, hr_map, factor=4, interpolation="linear"):
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
        raise ValueError(
            f"HR map {template.shape} is larger than the {factor}x-upscaled LR map {image.shape}"
        )
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


def register_area(lr_maps, hr_maps, factor=4, interpolation="linear"):
    """Register every component and combine them into one position per area.

    The consensus is the correlation-weighted median of the per-component
    positions, so a component that is only noise (low peak) cannot pull the
    window away.

    Returns
    -------
    dict
        ``components``: list of {component, X, Y, peak};
        ``X``, ``Y``: the consensus position; ``confidence``: the highest
        peak correlation among the components.
    """
    components = []
    for index, (lr_map, hr_map) in enumerate(zip(lr_maps, hr_maps)):
        (x, y), peak, _ = match_window(lr_map, hr_map, factor, interpolation)
        components.append({"component": index, "X": float(x), "Y": float(y), "peak": peak})
    weights = np.clip([c["peak"] for c in components], 0.0, None)
    if weights.sum() == 0:
        weights = np.ones(len(components))
    x = weighted_median([c["X"] for c in components], weights)
    y = weighted_median([c["Y"] for c in components], weights)
    return {
        "components": components,
        "X": x,
        "Y": y,
        "confidence": float(max(c["peak"] for c in components)),
    }


def weighted_median(values, weights):
    """The value at which the cumulative weight first reaches half the total."""
    order = np.argsort(values)
    values = np.asarray(values, dtype=float)[order]
    cumulative = np.cumsum(np.asarray(weights, dtype=float)[order])
    return float(values[np.searchsorted(cumulative, 0.5 * cumulative[-1])])


def register_area_file(nmf_path, out_path, factor=4, interpolation="linear"):
    """The ``register`` stage for one area: JSON with the position and its settings."""
    nmf = load_npz(nmf_path)
    result = register_area(nmf["lowres_maps"], nmf["highres_maps"], factor, interpolation)
    result["settings"] = {"factor": factor, "interpolation": interpolation, "method": "cv2.TM_CCOEFF_NORMED"}
    write_json(result, out_path)


def registration_errors(registrations, truths, factor=4):
    """Registered positions against the simulator's truth, in HR pixels.

    Parameters
    ----------
    registrations : dict
        ``{(sample, area): registration dict}``.
    truths : dict
        ``{(sample, area): (X, Y)}`` true top-left in upscaled pixels with
        upscaled pixel ``j`` at LR point ``j / factor`` (the simulator's
        convention), converted here to the half-pixel convention.

    Returns
    -------
    pandas.DataFrame
        sample, area, X, Y, X_true, Y_true, error_x, error_y, error (HR px), confidence.
    """
    rows = []
    for key, registration in registrations.items():
        x_true, y_true = lr_point_to_upscaled(np.asarray(truths[key]) / factor, factor)
        error_x, error_y = registration["X"] - x_true, registration["Y"] - y_true
        rows.append(
            {
                "sample": key[0],
                "area": key[1],
                "X": registration["X"],
                "Y": registration["Y"],
                "X_true": x_true,
                "Y_true": y_true,
                "error_x": error_x,
                "error_y": error_y,
                "error": float(np.hypot(error_x, error_y)),
                "confidence": registration["confidence"],
            }
        )
    return pd.DataFrame(rows)


def registration_table_file(areas, registration_paths, truth_paths, factor, csv_path, md_path):
    """The registration-accuracy table (simulated data): CSV and Markdown."""
    from ramansr.simulate import read_truth  # simulated runs only

    registrations, truths = {}, {}
    for key, registration_path, truth_path in zip(map(tuple, areas), registration_paths, truth_paths):
        with open(registration_path) as handle:
            registrations[key] = json.load(handle)
        truths[key] = tuple(read_truth(truth_path)["position"])
    table = registration_errors(registrations, truths, factor)
    with atomic_path(csv_path) as tmp:
        table.to_csv(tmp, index=False)
    summary = (
        f"Registration error over {len(table)} areas, in HR pixels: "
        f"median {table['error'].median():.2f}, max {table['error'].max():.2f}.\n\n"
    )
    with atomic_path(md_path) as tmp:
        with open(tmp, "w") as handle:
            handle.write("### Registration against the simulator's truth\n\n" + summary)
            handle.write(table.to_markdown(index=False, floatfmt=".2f") + "\n")
