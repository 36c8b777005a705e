"""Read and write Raman spectral images ("scans") stored as MATLAB files.

Data contract
-------------
A :class:`Scan` holds

- ``cube``: float32 array (rows, cols, channels); rows are scan lines (y),
  cols are points along a line (x). To avoid a copy the cube keeps MATLAB's
  memory order (each channel image contiguous); call ``np.ascontiguousarray``
  where pixel-interleaved memory is needed.
- ``wavenumbers``: float64 (channels,), rel. 1/cm, finite and strictly
  monotonic (kept in the file's order).
- ``pixel_size_um``: (dy, dx) in micrometres, or None when the file does not say.
- ``name`` and ``meta`` (format, container, variable, original dtype, units).

Formats, detected from the file's content, never from its name:

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
    export, the image shape coming from an ``imagesize``-like variable in
    the export's [cols rows] convention or from ``image_shape=(rows, cols)``),
    and a wavenumber vector under a common name (:data:`AXIS_NAMES`).

Both kinds may be MATLAB level-5 files or MATLAB v7.3 files (HDF5, arrays
stored transposed). Anything that cannot be read as a scan raises
:class:`ScanFormatError` naming the file and the problem. Writes are atomic
(temporary file in the same folder, then ``os.replace``).
"""

import datetime
import re
import struct
from dataclasses import dataclass, field
from pathlib import Path

import h5py
import numpy as np
import scipy.io
from scipy.io.matlab import MatlabObject

from ramansr.io_utils import atomic_path

__all__ = ["AXIS_NAMES", "IMAGESIZE_NAMES", "Scan", "ScanFormatError", "read_scan", "write_scan"]

#: Variable names searched (case-insensitively, in this order) for the wavenumber axis of a plain file.
AXIS_NAMES = ("wavenumbers", "wavenumber", "wn", "raman_shift", "ramanshift", "shift",
              "axisscale", "axis", "xaxis", "x")
#: Variable names searched for the image size, [cols rows] as in the WITec export.
IMAGESIZE_NAMES = ("imagesize", "image_size", "imsize")
_PIXEL_SIZE_NAME = "pixel_size_um"
_NAME_VARIABLE = "name"
_WAVENUMBER_UNIT = "rel. 1/cm"
_MICROMETRE = "µm"
# Spatial units other than micrometres, as micrometres per unit. Any other text counts as µm:
# the export's own 'µm' arrives mangled (U+FFFD + 'm'), and the unit may be empty.
_UNIT_TO_UM = {"nm": 1e-3, "mm": 1e3, "cm": 1e4, "m": 1e6}
_DATASET_FIELDS = ("name", "type", "author", "date", "moddate", "imagesize", "imagemode", "data",
                   "label", "axisscale", "imageaxisscale", "title", "class", "include", "classlookup",
                   "axistype", "imageaxistype", "description", "userdata", "datasetversion",
                   "history", "uniqueid")
_HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
# Fixed header texts (no creation time) so that the same scan always gives the same bytes.
_MAT5_HEADER_TEXT = b"MATLAB 5.0 MAT-file, Platform: posix, Created by: ramansr.io"
_V73_HEADER_TEXT = b"MATLAB 7.3 MAT-file, Platform: GLNXA64, Created by: ramansr.io HDF5 schema 1.00 ."
_V73_USERBLOCK = 512
_MAT5_HEADER = 128
_MI_MATRIX, _MI_COMPRESSED = 14, 15
_H5_CLASS_DTYPES = {"double": np.float64, "single": np.float32, "int8": np.int8, "uint8": np.uint8,
                    "int16": np.int16, "uint16": np.uint16, "int32": np.int32, "uint32": np.uint32,
                    "int64": np.int64, "uint64": np.uint64, "logical": np.bool_}


class ScanFormatError(ValueError):
    """A file that cannot be read as a scan (or a scan that cannot be written)."""


@dataclass
class Scan:
    """A Raman spectral image.

    Parameters
    ----------
    cube : array_like, shape (rows, cols, channels)
        Intensities; stored as float32.
    wavenumbers : array_like, shape (channels,)
        Raman shift in rel. 1/cm; stored as float64.
    pixel_size_um : tuple of float (dy, dx), optional
        Pixel pitch in micrometres, None when unknown.
    name : str, optional
        Measurement name.
    meta : dict, optional
        Source format, container, original dtype, units and other details.
    """

    cube: np.ndarray
    wavenumbers: np.ndarray
    pixel_size_um: tuple[float, float] | None = None
    name: str = ""
    meta: dict = field(default_factory=dict)

    def __post_init__(self):
        self.cube = np.asarray(self.cube, dtype=np.float32)
        self.wavenumbers = np.asarray(self.wavenumbers, dtype=np.float64)
        if self.cube.ndim != 3:
            raise ValueError(f"cube must be (rows, cols, channels), got shape {self.cube.shape}")
        if self.wavenumbers.shape != (self.cube.shape[2],):
            raise ValueError(f"wavenumbers must have shape ({self.cube.shape[2]},), "
                             f"got {self.wavenumbers.shape}")
        if self.pixel_size_um is not None:
            dy, dx = self.pixel_size_um
            self.pixel_size_um = (float(dy), float(dx))


# ----------------------------------------------------------------------------- reading


def read_scan(path, variable=None, image_shape=None):
    """Read a spectral image from a WITec export or a plain MATLAB file.

    Parameters
    ----------
    path : str or Path
        A MATLAB level-5 or v7.3 file; its format is detected from its content.
    variable : str, optional
        The variable holding the scan, needed when several candidates fit.
    image_shape : tuple of int (rows, cols), optional
        Image shape for plain 2-D spectra; overrides an ``imagesize`` variable.

    Returns
    -------
    Scan
        The unsheared image, its wavenumber axis and pixel size.

    Raises
    ------
    ScanFormatError
        If the file is not a readable MATLAB file or holds no valid scan; the
        message names the file and the problem.
    FileNotFoundError
        If ``path`` does not exist.
    """
    path = Path(path)
    variables, container = _load_variables(path)
    name, value = _pick_scan_variable(path, variables, variable)
    if isinstance(value, dict):
        scan = _scan_from_witec(path, name, value)
    else:
        scan = _scan_from_plain(path, name, value, variables, image_shape)
    scan.meta.update(container=container, source=str(path))
    return scan


def _fail(path, problem):
    return ScanFormatError(f"{path}: {problem}")


def _load_variables(path):
    """Return ({name: value}, container) with structs as dicts and cells as object arrays."""
    with open(path, "rb") as file:
        head = file.read(_V73_USERBLOCK + len(_HDF5_SIGNATURE))
    size = path.stat().st_size
    if size == 0:
        raise _fail(path, "empty file, not a MATLAB file")
    if len(head) < _MAT5_HEADER:
        if head.startswith(b"MATLAB"):
            raise _fail(path, f"truncated file: {size} bytes, shorter than the 128-byte MATLAB header")
        raise _fail(path, "not a MATLAB file (no MATLAB level-5 or v7.3 header)")
    version, endian = head[124:126], head[126:128]
    if endian == b"IM":
        version = version[::-1]
    if endian not in (b"IM", b"MI") or version not in (b"\x01\x00", b"\x02\x00"):
        raise _fail(path, "not a MATLAB file (no MATLAB level-5 or v7.3 header)")
    if version == b"\x02\x00":
        if head[_V73_USERBLOCK:] != _HDF5_SIGNATURE:
            raise _fail(path, "truncated or corrupt MATLAB v7.3 file: no HDF5 data after the header")
        return _load_v73(path), "mat7.3"
    _check_mat5_complete(path, endian, size)
    try:
        raw = scipy.io.loadmat(path)
    except Exception as error:  # scipy raises many types for damaged files
        raise _fail(path, f"corrupt MATLAB level-5 file ({type(error).__name__}: {error})") from error
    return {key: _from_mat5(value) for key, value in raw.items() if not key.startswith("__")}, "mat5"


def _check_mat5_complete(path, endian, size):
    """Walk the top-level elements of a level-5 file; raise if one runs past the end."""
    byte_order = "<" if endian == b"IM" else ">"
    offset = _MAT5_HEADER
    with open(path, "rb") as file:
        while offset < size:
            file.seek(offset)
            tag = file.read(8)
            if len(tag) < 8:
                raise _fail(path, f"truncated file: element tag at byte {offset} cut off at {size} bytes")
            data_type, nbytes = struct.unpack(byte_order + "II", tag)
            if data_type not in (_MI_MATRIX, _MI_COMPRESSED):
                raise _fail(path, f"corrupt file: unknown element type {data_type} at byte {offset}")
            if data_type == _MI_MATRIX:
                nbytes += -nbytes % 8  # uncompressed elements are padded to 8 bytes
            end = offset + 8 + nbytes
            if end > size:
                raise _fail(path, f"truncated file: element at byte {offset} needs {end} bytes, "
                                  f"the file has {size}")
            offset = end


def _from_mat5(value):
    """Convert a loadmat value: struct/object -> dict, cell -> object array, char -> str."""
    if isinstance(value, np.ndarray) and value.dtype.names is not None:
        if value.size != 1:
            return value
        record = value.reshape(-1)[0]
        fields = {key: _from_mat5(record[key]) for key in value.dtype.names}
        if isinstance(value, MatlabObject):
            fields["__class__"] = value.classname
        return fields
    if isinstance(value, np.ndarray) and value.dtype == object:
        converted = np.empty(value.shape, dtype=object)
        for index, item in np.ndenumerate(value):
            converted[index] = _from_mat5(item)
        return converted
    if isinstance(value, np.ndarray) and value.dtype.kind == "U":
        return "\n".join(value.reshape(-1).tolist())
    return value


def _load_v73(path):
    try:
        with h5py.File(path, "r") as file:
            return {key: _from_h5(file, item) for key, item in file.items()
                    if not key.startswith("#")}
    except (OSError, KeyError, RuntimeError, ValueError, TypeError) as error:
        raise _fail(path, f"truncated or corrupt MATLAB v7.3 (HDF5) file ({error})") from error


def _from_h5(file, item):
    """Convert an HDF5 object written by MATLAB v7.3 to the shapes MATLAB shows."""
    attributes = dict(item.attrs)
    matlab_class = attributes.get("MATLAB_class", b"")
    matlab_class = matlab_class.decode() if isinstance(matlab_class, bytes) else str(matlab_class)
    if isinstance(item, h5py.Group):
        if "MATLAB_sparse" in attributes:
            return None  # sparse matrices are never scans
        fields = {key: _from_h5(file, child) for key, child in item.items()}
        if matlab_class not in ("struct", ""):
            fields["__class__"] = matlab_class
        return fields
    if attributes.get("MATLAB_empty", 0):
        if matlab_class == "char":
            return ""
        dims = tuple(int(n) for n in np.asarray(item[()]).reshape(-1)[::-1])
        return np.empty(dims, dtype=_H5_CLASS_DTYPES.get(matlab_class, object))
    data = item[()]
    if matlab_class == "cell":
        data = data.T
        cell = np.empty(data.shape, dtype=object)
        for index, reference in np.ndenumerate(data):
            cell[index] = _from_h5(file, file[reference])
        return cell
    if matlab_class == "char":
        return "\n".join("".join(map(chr, row)) for row in np.atleast_2d(data.T))
    if data.dtype.names and {"real", "imag"} <= set(data.dtype.names):
        data = data["real"] + 1j * data["imag"]
    data = np.asarray(data).T
    if matlab_class == "logical":
        data = data.astype(bool)
    return data


def _is_numeric(value):
    return isinstance(value, np.ndarray) and value.dtype.kind in "fiuc"


def _is_spectral_candidate(value):
    """A 3-D array, or a 2-D array that is not a vector."""
    return _is_numeric(value) and (value.ndim == 3 or (value.ndim == 2 and 1 not in value.shape))


def _pick_scan_variable(path, variables, variable):
    if variable is not None:
        if variable not in variables:
            raise _fail(path, f"no variable {variable!r}; variables: {', '.join(variables) or 'none'}")
        value = variables[variable]
        if not (_is_witec_struct(value) or _is_spectral_candidate(value)):
            raise _fail(path, f"variable {variable!r} is no spectral array or WITec struct")
        return variable, value
    axis_like = {_find_named(variables, AXIS_NAMES), _find_named(variables, IMAGESIZE_NAMES)}
    candidates = {key: value for key, value in variables.items()
                  if _is_witec_struct(value) or (key not in axis_like and _is_spectral_candidate(value))}
    non_empty = {key: value for key, value in candidates.items()
                 if not (isinstance(value, np.ndarray) and value.size == 0)}
    candidates = non_empty or candidates
    if not candidates:
        raise _fail(path, "no spectral array (no 2-D or 3-D numeric array, no WITec struct); "
                          f"variables: {', '.join(variables) or 'none'}")
    if len(candidates) > 1:
        raise _fail(path, f"ambiguous: several candidate spectral arrays ({', '.join(candidates)}); "
                          "pick one with variable=")
    return next(iter(candidates.items()))


def _find_named(variables, names):
    """The variable whose name is first in ``names`` (case-insensitive), or None."""
    by_lower_name = {key.lower(): key for key, value in variables.items() if _is_numeric(value)}
    return next((by_lower_name[name] for name in names if name in by_lower_name), None)


def _is_witec_struct(value):
    return isinstance(value, dict) and "data" in value


def _scan_from_witec(path, variable, struct_fields):
    data = struct_fields["data"]
    if not _is_numeric(data) or data.ndim != 2:
        shape = getattr(data, "shape", type(data).__name__)
        raise _fail(path, f"no spectral array: {variable}.data is not a 2-D numeric array ({shape})")
    _check_data_kind(path, f"{variable}.data", data)
    cols, rows = _witec_imagesize(path, variable, struct_fields.get("imagesize"))
    axisscale = struct_fields.get("axisscale")
    wavenumbers = _cell_item(axisscale, 1, 0)
    if wavenumbers is None:
        raise _fail(path, f"no wavenumber axis: {variable}.axisscale{{2,1}} is missing or empty")
    if data.shape[0] != rows * cols:
        raise _fail(path, f"data size does not match imagesize: data has {data.shape[0]} pixels "
                          f"(shape {data.shape}) but imagesize [{cols} {rows}] gives {rows * cols}")
    wavenumbers = _checked_axis(path, wavenumbers, data.shape[1])
    cube = _checked_cube(path, _pixels_to_cube(data, rows, cols), wavenumbers)
    unit = _cell_item(axisscale, 1, 1)
    name = struct_fields.get("name")
    meta = {"format": "witec", "variable": variable, "original_dtype": str(data.dtype),
            "layout": "pixels x channels",
            "wavenumber_unit": unit if isinstance(unit, str) and unit else _WAVENUMBER_UNIT}
    date = struct_fields.get("date")
    if _is_numeric(date) and date.size == 6:
        meta["date"] = _iso_date(date.reshape(-1))
    if "__class__" in struct_fields:
        meta["matlab_class"] = struct_fields["__class__"]
    pixel_size = _witec_pixel_size(path, variable, struct_fields.get("imageaxisscale"), rows, cols, meta)
    return Scan(cube, wavenumbers, pixel_size, name if isinstance(name, str) and name else variable, meta)


def _witec_imagesize(path, variable, imagesize):
    if not _is_numeric(imagesize) or imagesize.size != 2:
        raise _fail(path, f"{variable}.imagesize must hold two numbers [cols rows], got "
                          f"{getattr(imagesize, 'shape', imagesize)!r}")
    values = imagesize.reshape(-1).astype(np.float64)
    if np.any(values != np.round(values)) or np.any(values < 1):
        raise _fail(path, f"{variable}.imagesize must be positive integers, got {values.tolist()}")
    return int(values[0]), int(values[1])


def _cell_item(cell, row, col):
    """cell{row+1, col+1}, or None when it is absent or empty."""
    if not (isinstance(cell, np.ndarray) and cell.dtype == object and cell.ndim == 2
            and cell.shape[0] > row and cell.shape[1] > col):
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
        if axis is None or not _is_numeric(axis):
            return None
        axis = axis.reshape(-1).astype(np.float64)
        if axis.size != count:
            raise _fail(path, f"{variable}.imageaxisscale{{{index + 1},1}} has {axis.size} values "
                              f"but the image has {count} {'rows' if index else 'columns'}")
        if count < 2:
            return None
        unit = _cell_item(imageaxisscale, index, 1)
        unit = unit if isinstance(unit, str) else ""
        meta["spatial_unit"] = unit
        steps.append((axis[-1] - axis[0]) / (count - 1) * _UNIT_TO_UM.get(unit.strip(), 1.0))
    return tuple(steps)


def _scan_from_plain(path, variable, data, variables, image_shape):
    axis_key = _find_named(variables, AXIS_NAMES)
    if axis_key is None:
        raise _fail(path, f"no wavenumber axis: none of the variables {', '.join(AXIS_NAMES)}")
    axis = variables[axis_key]
    if axis.ndim > 2 or (axis.ndim == 2 and 1 not in axis.shape):
        raise _fail(path, f"wavenumber axis {axis_key!r} is not a vector (shape {axis.shape})")
    _check_data_kind(path, variable, data)
    if data.ndim == 3:
        layout, cube = "cube", data
    else:
        rows, cols = _plain_image_shape(path, variables, image_shape)
        layout = _plain_orientation(path, variable, data, axis.size, rows, cols)
        cube = _pixels_to_cube(data if layout == "pixels x channels" else data.T, rows, cols)
    wavenumbers = _checked_axis(path, axis, cube.shape[2], axis_key)
    cube = _checked_cube(path, cube, wavenumbers)
    name = variables.get(_NAME_VARIABLE)
    meta = {"format": "plain", "variable": variable, "axis_variable": axis_key,
            "original_dtype": str(data.dtype), "layout": layout, "wavenumber_unit": _WAVENUMBER_UNIT}
    return Scan(cube, wavenumbers, _plain_pixel_size(path, variables),
                name if isinstance(name, str) and name else variable, meta)


def _plain_image_shape(path, variables, image_shape):
    """(rows, cols) from the argument, else from an imagesize variable ([cols rows])."""
    if image_shape is not None:
        rows, cols = (int(n) for n in image_shape)
        return rows, cols
    key = _find_named(variables, IMAGESIZE_NAMES)
    if key is None:
        raise _fail(path, "2-D spectra need the image shape: no variable "
                          f"{'/'.join(IMAGESIZE_NAMES)}; pass image_shape=(rows, cols)")
    cols, rows = _witec_imagesize(path, key, variables[key])
    return rows, cols


def _plain_orientation(path, variable, data, n_axis, rows, cols):
    """Tell pixels x channels from channels x pixels by the axis length and the pixel count."""
    pixels = rows * cols
    first, second = data.shape
    if second == n_axis and first == pixels:
        return "pixels x channels"
    if first == n_axis and second == pixels:
        return "channels x pixels"
    if n_axis not in data.shape:
        raise _fail(path, f"axis length {n_axis} does not match the channel count: "
                          f"{variable} is {first} x {second}")
    raise _fail(path, f"data size does not match imagesize: {variable} is {first} x {second} "
                      f"but the image shape {rows} x {cols} gives {pixels} pixels")


def _plain_pixel_size(path, variables):
    value = variables.get(_PIXEL_SIZE_NAME)
    if value is None:
        return None
    if not _is_numeric(value) or value.size != 2 or not np.all(np.isfinite(value)):
        raise _fail(path, f"{_PIXEL_SIZE_NAME} must hold two finite numbers (dy, dx)")
    dy, dx = value.reshape(-1).astype(np.float64)
    return float(dy), float(dx)


def _pixels_to_cube(data, rows, cols):
    """(pixels, channels) in export order -> (rows, cols, channels), a view where possible."""
    return data.T.reshape(data.shape[1], rows, cols).transpose(1, 2, 0)


def _checked_axis(path, axis, channels, label="wavenumber axis"):
    axis = np.asarray(axis)
    if not _is_numeric(axis):
        raise _fail(path, f"{label} is not numeric")
    if axis.dtype.kind == "c":
        raise _fail(path, f"{label} is complex")
    axis = axis.reshape(-1).astype(np.float64)
    if axis.size == 0:
        raise _fail(path, f"empty array: {label} has no values")
    if axis.size != channels:
        raise _fail(path, f"axis length {axis.size} does not match the channel count {channels}")
    if not np.all(np.isfinite(axis)):
        raise _fail(path, f"{label} holds {np.count_nonzero(~np.isfinite(axis))} NaN or inf values")
    steps = np.diff(axis)
    if not (np.all(steps > 0) or np.all(steps < 0)):
        at = int(np.flatnonzero(np.sign(steps) != np.sign(steps[0]))[0]) + 1 if steps.size else 0
        raise _fail(path, f"{label} is not strictly monotonic (breaks at index {at}: "
                          f"{axis[at - 1]:g} -> {axis[at]:g})")
    return axis


def _check_data_kind(path, variable, data):
    if data.size == 0:
        raise _fail(path, f"empty array: {variable} has shape {data.shape}")
    if data.dtype.kind == "c":
        raise _fail(path, f"complex data: {variable} is {data.dtype}, not a Raman intensity")


def _checked_cube(path, cube, wavenumbers):
    """Cast to float32 (keeping the memory order) and refuse NaN or inf, saying where."""
    with np.errstate(over="ignore", invalid="ignore"):  # overflow is reported below, with its position
        cube32 = cube.astype(np.float32, order="K", copy=False)
        total = cube32.sum()  # a cheap first look: finite data has a finite sum (almost always)
    bad = None if np.isfinite(total) else ~np.isfinite(cube32)
    if bad is not None and bad.any():
        row, col, channel = (int(i) for i in np.argwhere(bad)[0])
        overflow = " (beyond float32 range)" if np.isfinite(cube[row, col, channel]) else ""
        raise _fail(path, f"{np.count_nonzero(bad)} NaN or inf values in the data; first at "
                          f"(row {row}, col {col}, channel {channel}, {wavenumbers[channel]:g} rel. 1/cm)"
                          f"{overflow}")
    return cube32


# ----------------------------------------------------------------------------- writing


def write_scan(scan, path, format="witec", v73=False):
    """Write a scan as a MATLAB file that :func:`read_scan` reads back unchanged.

    Parameters
    ----------
    scan : Scan
        The image to write; the cube is stored as float32.
    path : str or Path
        Destination, replaced atomically.
    format : {'witec', 'plain'}
        ``'witec'``: a DataSet object shaped like a WITec Project FOUR export
        (a struct in v7.3). ``'plain'``: variables ``cube`` (rows, cols,
        channels), ``wavenumbers``, ``name`` and, when known, ``pixel_size_um``.
        ``scan.meta['date']`` (ISO 8601 text or a MATLAB clock vector) becomes
        the DataSet's date; no wall-clock time is written, so the same scan
        always gives the same bytes.
    v73 : bool
        Write a MATLAB v7.3 (HDF5) file instead of a level-5 file.

    Raises
    ------
    ScanFormatError
        If the scan breaks the data contract (non-finite, empty, bad axis).
    """
    path = Path(path)
    if format not in ("witec", "plain"):
        raise ValueError(f"format must be 'witec' or 'plain', got {format!r}")
    where = f"cannot write {path}"
    wavenumbers = _checked_axis(where, scan.wavenumbers, scan.cube.shape[2])
    cube = _checked_cube(where, scan.cube, wavenumbers)
    if format == "witec":
        variables = {_matlab_name(scan.name): _witec_fields(scan, cube, wavenumbers)}
    else:
        variables = {"cube": cube, "wavenumbers": wavenumbers[np.newaxis], _NAME_VARIABLE: scan.name}
        if scan.pixel_size_um is not None:
            variables[_PIXEL_SIZE_NAME] = np.asarray(scan.pixel_size_um, dtype=np.float64)[np.newaxis]
    _write_atomically(path, variables, _write_v73 if v73 else _write_mat5)


def _matlab_name(name):
    """A valid MATLAB variable name derived from the scan name (the export drops dots)."""
    cleaned = re.sub(r"\W", "_", (name or "").replace(".", ""), flags=re.ASCII)
    if not cleaned or not cleaned[0].isalpha():
        cleaned = "scan_" + cleaned
    return cleaned[:63]


def _cell(rows):
    cell = np.empty((len(rows), len(rows[0])), dtype=object)
    for i, row in enumerate(rows):
        for j, item in enumerate(row):
            cell[i, j] = item
    return cell


def _witec_fields(scan, cube, wavenumbers):
    """The fields of an Eigenvector DataSet 6.0 image, in the export's order."""
    rows, cols, channels = cube.shape
    empty = np.zeros((0, 0))
    # the measurement's own clock vector when the scan came from an export; no wall-clock
    # time otherwise, so that writing is reproducible
    date = _clock_vector(scan.meta["date"]) if scan.meta.get("date") else empty
    if scan.pixel_size_um is None:
        x_axis = y_axis = empty
        spatial_unit = ""
    else:
        dy, dx = scan.pixel_size_um
        x_axis, y_axis = np.arange(cols)[np.newaxis] * dx, np.arange(rows)[np.newaxis] * dy
        spatial_unit = _MICROMETRE
    # channel-planar cube -> (pixels, channels) F-ordered: a view, and pixel-major as the export
    data = cube.transpose(2, 0, 1).reshape(channels, rows * cols).T
    blank = _cell([["", ""], ["", ""]])
    name = scan.name or _matlab_name(scan.name)
    fields = {
        "name": name, "type": "image", "author": "", "date": date, "moddate": date,
        # integers as loadmat shows the export's (MATLAB stores its whole doubles as uint8)
        "imagesize": np.array([[cols, rows]], dtype=np.min_scalar_type(max(rows, cols))),
        "imagemode": np.array([[1]], dtype=np.uint8),
        "data": data, "label": blank,
        "axisscale": _cell([[empty, ""], [wavenumbers[np.newaxis], _WAVENUMBER_UNIT]]),
        "imageaxisscale": _cell([[x_axis, spatial_unit], [y_axis, spatial_unit]]),
        "title": blank, "class": _cell([[empty, ""], [empty, ""]]),
        "include": _cell([[np.arange(1.0, rows * cols + 1)[np.newaxis], empty],
                          [np.arange(1.0, channels + 1)[np.newaxis], np.zeros((1, 0))]]),
        "classlookup": _cell([[np.empty((0, 0), dtype=object)], [np.empty((0, 0), dtype=object)]]),
        "axistype": _cell([["none"], ["none"]]), "imageaxistype": _cell([["none"], ["none"]]),
        "description": "", "userdata": empty, "datasetversion": "6.0",
        "history": _cell([["Created by ramansr.io.write_scan"]]),
        "uniqueid": f"{_matlab_name(scan.name)}@ramansr",
    }
    return {key: fields[key] for key in _DATASET_FIELDS}


def _iso_date(clock):
    """MATLAB clock vector [y m d h min s] -> ISO 8601 text."""
    year, month, day, hour, minute, seconds = clock
    whole = int(seconds)
    return datetime.datetime(int(year), int(month), int(day), int(hour), int(minute), whole,
                             round((seconds - whole) * 1e6)).isoformat()


def _clock_vector(date):
    """ISO 8601 text or [y m d h min s] -> MATLAB clock vector, shape (1, 6)."""
    if isinstance(date, str):
        when = datetime.datetime.fromisoformat(date)
        return np.array([[when.year, when.month, when.day, when.hour, when.minute,
                          when.second + when.microsecond / 1e6]])
    clock = np.asarray(date, dtype=np.float64).reshape(1, -1)
    if clock.size != 6:
        raise ValueError(f"meta['date'] must be ISO 8601 text or [y m d h min s], got {date!r}")
    return clock


def _write_atomically(path, variables, writer):
    with atomic_path(path) as temporary:
        writer(temporary, variables)


def _write_mat5(path, variables):
    """Level-5 file; a WITec struct becomes a 'dataset' object like the real export."""
    converted = {}
    for key, value in variables.items():
        if isinstance(value, dict):
            record = np.empty((1, 1), dtype=[(name, object) for name in value])
            for name, item in value.items():
                record[0, 0][name] = item
            value = MatlabObject(record, "dataset")
        converted[key] = value
    scipy.io.savemat(path, converted, long_field_names=True, do_compression=False)
    with open(path, "r+b") as file:  # replace scipy's header text, which carries the time
        file.write(_MAT5_HEADER_TEXT.ljust(116, b" "))


def _write_v73(path, variables):
    """MATLAB v7.3: HDF5 with a 512-byte MATLAB header block and MATLAB_class attributes."""
    with h5py.File(path, "w", userblock_size=_V73_USERBLOCK, libver="earliest") as file:
        references = file.create_group("#refs#")
        _h5_empty(references, "a", "canonical empty", (0, 0))
        for key, value in variables.items():
            _to_h5(file, references, key, value)
    header = _V73_HEADER_TEXT.ljust(116, b" ") + b" " * 8 + b"\x00\x02" + b"IM"
    with open(path, "r+b") as file:
        file.write(header.ljust(_V73_USERBLOCK, b"\x00"))


def _h5_class(item, matlab_class):
    item.attrs.create("MATLAB_class", np.bytes_(matlab_class))


def _h5_empty(parent, key, matlab_class, shape):
    dataset = parent.create_dataset(key, data=np.array(shape[::-1], dtype=np.uint64))
    _h5_class(dataset, matlab_class)
    dataset.attrs.create("MATLAB_empty", np.uint8(1))
    if matlab_class == "char":
        dataset.attrs.create("MATLAB_int_decode", np.int32(2))
    return dataset


def _to_h5(parent, references, key, value):
    """Store a value the way MATLAB v7.3 does (arrays transposed, cells as references)."""
    if isinstance(value, dict):
        group = parent.create_group(key)
        _h5_class(group, "struct")
        group.attrs.create("MATLAB_fields", [np.frombuffer(name.encode(), dtype="S1") for name in value],
                           dtype=h5py.vlen_dtype(np.dtype("S1")))
        for name, item in value.items():
            _to_h5(group, references, name, item)
        return group
    if isinstance(value, str):
        if not value:
            return _h5_empty(parent, key, "char", (0, 0))
        codes = np.array([[ord(c) for c in value]], dtype=np.uint16)
        dataset = parent.create_dataset(key, data=codes.T)
        _h5_class(dataset, "char")
        dataset.attrs.create("MATLAB_int_decode", np.int32(2))
        return dataset
    value = np.asarray(value)
    if value.dtype == object:
        if value.size == 0:
            return _h5_empty(parent, key, "cell", value.shape)
        targets = np.empty(value.shape, dtype=h5py.ref_dtype)
        for index, item in np.ndenumerate(value):
            targets[index] = _to_h5(references, references, f"r{len(references)}", item).ref
        dataset = parent.create_dataset(key, data=targets.T)
        _h5_class(dataset, "cell")
        return dataset
    matlab_class = next(name for name, dtype in _H5_CLASS_DTYPES.items() if value.dtype == dtype)
    if value.size == 0:
        return _h5_empty(parent, key, matlab_class, value.shape)
    stored = value.astype(np.uint8) if matlab_class == "logical" else value
    dataset = parent.create_dataset(key, data=np.atleast_2d(stored).T)
    _h5_class(dataset, matlab_class)
    return dataset
