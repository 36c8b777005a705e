"""Read a scan from a MATLAB file (level 5 or v7.3): the WITec export or plain arrays, their layout detected.

Formats, detected from the file's content:

``witec``
    The WITec Project FOUR/FIVE export: an Eigenvector DataSet object (or a
    struct with the same fields) with ``data`` (pixels, channels),
    ``imagesize`` = [points per line, scan lines], wavenumbers in
    ``axisscale{2,1}`` and the spatial axes in ``imageaxisscale{1,1}`` (x) and
    ``imageaxisscale{2,1}`` (y). Pixels run along a scan line first, so
    pixel ``p`` sits at row ``p // cols``, column ``p % cols``.
``plain``
    One numeric array, either a cube (rows, cols, channels) or 2-D spectra
    (pixels x channels or channels x pixels, in the same pixel order as the
    export unless ``image_shape=(rows, cols, 'y fastest')`` says otherwise,
    the image shape coming from an ``imagesize``-like variable in the
    export's [cols rows] convention or from ``image_shape``), and a
    wavenumber vector under a common name (:data:`AXIS_NAMES`). Layouts
    whose channel dimension the axis length cannot decide are refused.

Both kinds may be MATLAB level-5 files or MATLAB v7.3 files (HDF5, arrays
stored transposed), loaded by :mod:`ramansr.io.mat_container`. A v7.3 dataset's
declared size is checked against ``max_bytes`` and against what the file stores
before it is read.
"""

import datetime

import numpy as np

from ramansr.io.mat_container import load_variables
from ramansr.io.scan import (
    UNIT_TO_UM,
    WAVENUMBER_UNIT,
    Scan,
    check_data_kind,
    checked_axis,
    checked_cube,
    is_numeric,
    pixels_to_cube,
    scan_error,
    split_image_shape,
)

#: Variable names searched (case-insensitively, in this order) for the wavenumber axis of a plain file.
AXIS_NAMES = (
    "wavenumbers",
    "wavenumber",
    "wn",
    "raman_shift",
    "ramanshift",
    "shift",
    "axisscale",
    "axis",
    "xaxis",
    "x",
)
#: Variable names searched for the image size, [cols rows] as in the WITec export.
IMAGESIZE_NAMES = ("imagesize", "image_size", "imsize")
PIXEL_SIZE_NAME = "pixel_size_um"
NAME_VARIABLE = "name"


def read_mat(path, variable=None, image_shape=None, max_bytes=None, choose_with="variable="):
    """Read a scan from a MATLAB file; see :func:`ramansr.io.read_scan` for the parameters."""
    variables, container = load_variables(path, max_bytes)
    name, value = _pick_scan_variable(path, variables, variable, choose_with)
    if isinstance(value, dict):
        scan = _scan_from_witec(path, name, value)
    else:
        scan = _scan_from_plain(path, name, value, variables, image_shape, container)
    scan.meta["container"] = container
    return scan


def _is_spectral_candidate(value):
    """A 3-D array, or a 2-D array that is not a vector."""
    return is_numeric(value) and (value.ndim == 3 or (value.ndim == 2 and 1 not in value.shape))


def _pick_scan_variable(path, variables, variable, choose_with):
    if variable is not None:
        if variable not in variables:
            raise scan_error(path, f"no variable {variable!r}; variables: {', '.join(variables) or 'none'}")
        value = variables[variable]
        if not (_is_witec_struct(value) or _is_spectral_candidate(value)):
            raise scan_error(path, f"variable {variable!r} is no spectral array or WITec struct")
        return variable, value
    axis_like = {_find_named(variables, AXIS_NAMES), _find_named(variables, IMAGESIZE_NAMES)}
    candidates = {
        key: value
        for key, value in variables.items()
        if _is_witec_struct(value) or (key not in axis_like and _is_spectral_candidate(value))
    }
    non_empty = {
        key: value for key, value in candidates.items() if not (isinstance(value, np.ndarray) and value.size == 0)
    }
    candidates = non_empty or candidates
    if not candidates:
        raise scan_error(
            path,
            "no spectral array (no 2-D or 3-D numeric array, no WITec struct); "
            f"variables: {', '.join(variables) or 'none'}",
        )
    if len(candidates) > 1:
        raise scan_error(
            path,
            f"ambiguous: several candidate spectral arrays ({', '.join(candidates)}); pick one with {choose_with}",
            candidates,
        )
    return next(iter(candidates.items()))


def _find_named(variables, names):
    """The variable whose name is first in ``names`` (case-insensitive), or None."""
    by_lower_name = {key.lower(): key for key, value in variables.items() if is_numeric(value)}
    return next((by_lower_name[name] for name in names if name in by_lower_name), None)


def _is_witec_struct(value):
    return isinstance(value, dict) and "data" in value


def _scan_from_witec(path, variable, struct_fields):
    data = struct_fields["data"]
    if not is_numeric(data) or data.ndim != 2:
        shape = getattr(data, "shape", type(data).__name__)
        raise scan_error(path, f"no spectral array: {variable}.data is not a 2-D numeric array ({shape})")
    check_data_kind(path, f"{variable}.data", data)
    cols, rows = _witec_imagesize(path, variable, struct_fields.get("imagesize"))
    axisscale = struct_fields.get("axisscale")
    wavenumbers = _cell_item(axisscale, 1, 0)
    if wavenumbers is None:
        raise scan_error(path, f"no wavenumber axis: {variable}.axisscale{{2,1}} is missing or empty")
    if data.shape[0] != rows * cols:
        raise scan_error(
            path,
            f"data size does not match imagesize: data has {data.shape[0]} pixels "
            f"(shape {data.shape}) but imagesize [{cols} {rows}] gives {rows * cols}",
        )
    wavenumbers = checked_axis(path, wavenumbers, data.shape[1])
    cube = checked_cube(path, pixels_to_cube(data, rows, cols), wavenumbers)
    unit = _cell_item(axisscale, 1, 1)
    name = struct_fields.get("name")
    meta = {
        "format": "witec",
        "variable": variable,
        "original_dtype": str(data.dtype),
        "layout": "pixels x channels",
        "wavenumber_unit": unit if isinstance(unit, str) and unit else WAVENUMBER_UNIT,
    }
    date = struct_fields.get("date")
    if is_numeric(date) and date.size == 6:
        meta["date"] = _iso_date(date.reshape(-1))
    if "__class__" in struct_fields:
        meta["matlab_class"] = struct_fields["__class__"]
    pixel_size = _witec_pixel_size(path, variable, struct_fields.get("imageaxisscale"), rows, cols, meta)
    return Scan(cube, wavenumbers, pixel_size, name if isinstance(name, str) and name else variable, meta)


def _witec_imagesize(path, variable, imagesize):
    if not is_numeric(imagesize) or imagesize.size != 2:
        raise scan_error(
            path,
            f"{variable}.imagesize must hold two numbers [cols rows], got {getattr(imagesize, 'shape', imagesize)!r}",
        )
    values = imagesize.reshape(-1).astype(np.float64)
    if np.any(values != np.round(values)) or np.any(values < 1):
        raise scan_error(path, f"{variable}.imagesize must be positive integers, got {values.tolist()}")
    return int(values[0]), int(values[1])


def _cell_item(cell, row, col):
    """cell{row+1, col+1}, or None when it is absent or empty."""
    if not (
        isinstance(cell, np.ndarray)
        and cell.dtype == object
        and cell.ndim == 2
        and cell.shape[0] > row
        and cell.shape[1] > col
    ):
        return None
    item = cell[row, col]
    if item is None or (isinstance(item, np.ndarray) and item.size == 0) or (isinstance(item, str) and not item):
        return None
    return item


def _witec_pixel_size(path, variable, imageaxisscale, rows, cols, meta):
    """(dy, dx) in um from imageaxisscale{2,1} (y) and {1,1} (x); None if not given."""
    steps = []
    for index, count in ((1, rows), (0, cols)):
        axis = _cell_item(imageaxisscale, index, 0)
        if axis is None or not is_numeric(axis):
            return None
        axis = axis.reshape(-1).astype(np.float64)
        if axis.size != count:
            raise scan_error(
                path,
                f"{variable}.imageaxisscale{{{index + 1},1}} has {axis.size} values "
                f"but the image has {count} {'rows' if index else 'columns'}",
            )
        if count < 2:
            return None
        unit = _cell_item(imageaxisscale, index, 1)
        unit = unit if isinstance(unit, str) else ""
        meta["spatial_unit"] = unit
        steps.append((axis[-1] - axis[0]) / (count - 1) * UNIT_TO_UM.get(unit.strip(), 1.0))
    return tuple(steps)


def _scan_from_plain(path, variable, data, variables, image_shape, container):
    axis_key = _find_named(variables, AXIS_NAMES)
    if axis_key is None:
        raise scan_error(path, f"no wavenumber axis: none of the variables {', '.join(AXIS_NAMES)}")
    axis = variables[axis_key]
    if axis.ndim > 2 or (axis.ndim == 2 and 1 not in axis.shape):
        raise scan_error(path, f"wavenumber axis {axis_key!r} is not a vector (shape {axis.shape})")
    check_data_kind(path, variable, data)
    if data.ndim == 3:
        _check_cube_layout(path, variable, data, axis.size, container)
        layout, cube = "cube", data
    else:
        rows, cols, order = _plain_image_shape(path, variables, image_shape)
        layout = _plain_orientation(path, variable, data, axis.size, rows, cols)
        cube = pixels_to_cube(data if layout == "pixels x channels" else data.T, rows, cols, order or "x fastest")
    wavenumbers = checked_axis(path, axis, cube.shape[2], axis_key)
    cube = checked_cube(path, cube, wavenumbers)
    name = variables.get(NAME_VARIABLE)
    meta = {
        "format": "plain",
        "variable": variable,
        "axis_variable": axis_key,
        "original_dtype": str(data.dtype),
        "layout": layout,
        "wavenumber_unit": WAVENUMBER_UNIT,
    }
    return Scan(
        cube,
        wavenumbers,
        _plain_pixel_size(path, variables),
        name if isinstance(name, str) and name else variable,
        meta,
    )


def _plain_image_shape(path, variables, image_shape):
    """(rows, cols, pixel order or None) from the argument, else from an imagesize variable ([cols rows])."""
    if image_shape is not None:
        return split_image_shape(path, image_shape)
    key = _find_named(variables, IMAGESIZE_NAMES)
    if key is None:
        raise scan_error(
            path,
            f"2-D spectra need the image shape: no variable {'/'.join(IMAGESIZE_NAMES)}; pass image_shape=(rows, cols)",
        )
    cols, rows = _witec_imagesize(path, key, variables[key])
    return rows, cols, None


def _check_cube_layout(path, variable, data, n_axis, container):
    """Refuse a v7.3 cube whose channels may be its first dimension.

    MATLAB stores arrays transposed in v7.3 (HDF5) files; a writer that does
    not (h5py on a NumPy array) leaves a rows x cols x channels cube reading as
    channels x cols x rows. When the first dimension matches the axis, nothing
    in the file tells the two apart.
    """
    if container != "mat7.3" or data.shape[0] != n_axis:
        return
    shape = " x ".join(str(n) for n in data.shape)
    which = "both its first and its last dimension match" if data.shape[2] == n_axis else "its first dimension matches"
    raise scan_error(
        path,
        f"{variable} is {shape} (as MATLAB reads it) and {which} the {n_axis}-value wavenumber axis: its channels "
        "may come first, as when a v7.3 file is written without MATLAB's transpose (h5py), which the file cannot "
        "rule out. Save the cube as a level-5 MAT file (MATLAB save -v7, scipy.io.savemat), which keeps the "
        "dimensions in order, or as 2-D spectra (pixels x channels) with an imagesize variable",
    )


def _plain_orientation(path, variable, data, n_axis, rows, cols):
    """Tell pixels x channels from channels x pixels by the axis length and the pixel count."""
    pixels = rows * cols
    first, second = data.shape
    if first == second == n_axis == pixels:
        raise scan_error(
            path,
            f"{variable} is {first} x {second} with {pixels} pixels and a {n_axis}-value wavenumber axis: either "
            "dimension may be the channels; store the spectra as a rows x cols x channels cube in a level-5 MAT file",
        )
    if second == n_axis and first == pixels:
        return "pixels x channels"
    if first == n_axis and second == pixels:
        return "channels x pixels"
    if n_axis not in data.shape:
        raise scan_error(
            path, f"axis length {n_axis} does not match the channel count: {variable} is {first} x {second}"
        )
    raise scan_error(
        path,
        f"data size does not match imagesize: {variable} is {first} x {second} "
        f"but the image shape {rows} x {cols} gives {pixels} pixels",
    )


def _plain_pixel_size(path, variables):
    value = variables.get(PIXEL_SIZE_NAME)
    if value is None:
        return None
    if not is_numeric(value) or value.size != 2 or not np.all(np.isfinite(value)):
        raise scan_error(path, f"{PIXEL_SIZE_NAME} must hold two finite numbers (dy, dx)")
    dy, dx = value.reshape(-1).astype(np.float64)
    return float(dy), float(dx)


def _iso_date(clock):
    """MATLAB clock vector [y m d h min s] -> ISO 8601 text."""
    year, month, day, hour, minute, seconds = clock
    whole = int(seconds)
    return datetime.datetime(
        int(year), int(month), int(day), int(hour), int(minute), whole, round((seconds - whole) * 1e6)
    ).isoformat()
