"""Write scans as MATLAB files (level 5 or v7.3) that :func:`ramansr.io.read_scan` reads back unchanged."""

import datetime
import re
from pathlib import Path

import h5py
import numpy as np
import scipy.io
from scipy.io.matlab import MatlabObject

from ramansr.io.mat import NAME_VARIABLE, PIXEL_SIZE_NAME
from ramansr.io.mat_container import H5_CLASS_DTYPES, V73_USERBLOCK
from ramansr.io.scan import WAVENUMBER_UNIT, RowBlocks, checked_axis, checked_cube
from ramansr.io_utils import atomic_path

_MICROMETRE = "µm"
_DATASET_FIELDS = (
    "name",
    "type",
    "author",
    "date",
    "moddate",
    "imagesize",
    "imagemode",
    "data",
    "label",
    "axisscale",
    "imageaxisscale",
    "title",
    "class",
    "include",
    "classlookup",
    "axistype",
    "imageaxistype",
    "description",
    "userdata",
    "datasetversion",
    "history",
    "uniqueid",
)
# Fixed header texts (no creation time) so that the same scan always gives the same bytes.
_MAT5_HEADER_TEXT = b"MATLAB 5.0 MAT-file, Platform: posix, Created by: ramansr.io"
_V73_HEADER_TEXT = b"MATLAB 7.3 MAT-file, Platform: GLNXA64, Created by: ramansr.io HDF5 schema 1.00 ."


# a level-5 MAT file stores an array's byte count in 32 bits
MAT5_MAX_ARRAY_BYTES = 2**32 - 1
# scipy writes a level-5 array whole (and copies it): a cube given as RowBlocks larger than this goes
# to v7.3, block by block, so that a 200 x 200 x 1024 LR scan's 2.4 GiB SR cube is never held at all
MAT5_MAX_ROW_BLOCKS_BYTES = 2**30
# v7.3: a cube held whole is written to HDF5 in blocks of rows of about this size
H5_WRITE_BLOCK_BYTES = 64 * 2**20


def write_scan(scan, path, format="witec", v73=None):
    """Write a scan as a MATLAB file that :func:`read_scan` reads back unchanged.

    Parameters
    ----------
    scan : Scan
        The image to write; the cube is stored as float32. A cube given as
        :class:`RowBlocks` goes to a v7.3 file a block at a time (its peak
        memory is a block's, not the cube's); to a level-5 file it is made
        whole first (scipy writes whole arrays).
    path : str or Path
        Destination, replaced atomically.
    format : {'witec', 'plain'}
        ``'witec'``: a DataSet object shaped like a WITec Project FOUR export
        (a struct in v7.3). ``'plain'``: variables ``cube`` (rows, cols,
        channels), ``wavenumbers``, ``name`` and, when known, ``pixel_size_um``.
        ``scan.meta['date']`` (ISO 8601 text or a MATLAB clock vector) becomes
        the DataSet's date; no wall-clock time is written, so the same scan
        always gives the same bytes.
    v73 : bool or None
        Write a MATLAB v7.3 (HDF5) file instead of a level-5 file; None (default): v7.3 only when the
        float32 cube is larger than a level-5 file can hold (4 GiB, e.g. a 1600 x 1600 x 1024 SR cube),
        or, given as :class:`RowBlocks`, larger than 1 GiB (``MAT5_MAX_ROW_BLOCKS_BYTES``).

    Raises
    ------
    ScanFormatError
        If the scan breaks the data contract (non-finite, empty, bad axis).
    """
    path = Path(path)
    if format not in ("witec", "plain"):
        raise ValueError(f"format must be 'witec' or 'plain', got {format!r}")
    where = f"cannot write {path}"
    wavenumbers = checked_axis(where, scan.wavenumbers, scan.cube.shape[2])
    if v73 is None:
        limit = MAT5_MAX_ROW_BLOCKS_BYTES if isinstance(scan.cube, RowBlocks) else MAT5_MAX_ARRAY_BYTES
        v73 = scan.cube.nbytes > limit
    if isinstance(scan.cube, RowBlocks) and v73:
        cube = _checked_blocks(where, scan.cube, wavenumbers)
    else:
        cube = checked_cube(where, scan.cube.whole() if isinstance(scan.cube, RowBlocks) else scan.cube, wavenumbers)
        if v73:
            # stored transposed (an SR cube can be 10 GB): h5py would first copy it whole into C order;
            # written like a RowBlocks cube, only a block is copied
            cube = _row_views(cube)
    if format == "witec":
        variables = {_matlab_name(scan.name): _witec_fields(scan, cube, wavenumbers)}
    else:
        variables = {"cube": cube, "wavenumbers": wavenumbers[np.newaxis], NAME_VARIABLE: scan.name}
        if scan.pixel_size_um is not None:
            variables[PIXEL_SIZE_NAME] = np.asarray(scan.pixel_size_um, dtype=np.float64)[np.newaxis]
    _write_atomically(path, variables, _write_v73 if v73 else _write_mat5)


def _checked_blocks(where, cube, wavenumbers):
    """The blocks of ``cube``, each refused when it holds NaN or inf (as :func:`checked_cube` would the whole)."""
    return RowBlocks(
        cube.shape, lambda: (checked_cube(where, block, wavenumbers, first_row=start) for start, block in cube)
    )


def _row_views(cube):
    """``cube`` as :class:`RowBlocks` of views, about ``H5_WRITE_BLOCK_BYTES`` each."""
    rows = max(1, H5_WRITE_BLOCK_BYTES // max(1, cube[0].nbytes))
    return RowBlocks(cube.shape, lambda: (cube[start : start + rows] for start in range(0, len(cube), rows)))


class _PixelTable:
    """The WITec data matrix (pixels, channels), pixels line by line, of a cube given as :class:`RowBlocks`."""

    def __init__(self, cube):
        self.cube = cube


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
    if isinstance(cube, RowBlocks):
        data = _PixelTable(cube)
    else:
        # channel-planar cube -> (pixels, channels) F-ordered: a view, and pixel-major as the export
        data = cube.transpose(2, 0, 1).reshape(channels, rows * cols).T
    blank = _cell([["", ""], ["", ""]])
    name = scan.name or _matlab_name(scan.name)
    fields = {
        "name": name,
        "type": "image",
        "author": "",
        "date": date,
        "moddate": date,
        # integers as loadmat shows the export's (MATLAB stores its whole doubles as uint8)
        "imagesize": np.array([[cols, rows]], dtype=np.min_scalar_type(max(rows, cols))),
        "imagemode": np.array([[1]], dtype=np.uint8),
        "data": data,
        "label": blank,
        "axisscale": _cell([[empty, ""], [wavenumbers[np.newaxis], WAVENUMBER_UNIT]]),
        "imageaxisscale": _cell([[x_axis, spatial_unit], [y_axis, spatial_unit]]),
        "title": blank,
        "class": _cell([[empty, ""], [empty, ""]]),
        "include": _cell(
            [
                [np.arange(1.0, rows * cols + 1)[np.newaxis], empty],
                [np.arange(1.0, channels + 1)[np.newaxis], np.zeros((1, 0))],
            ]
        ),
        "classlookup": _cell([[np.empty((0, 0), dtype=object)], [np.empty((0, 0), dtype=object)]]),
        "axistype": _cell([["none"], ["none"]]),
        "imageaxistype": _cell([["none"], ["none"]]),
        "description": "",
        "userdata": empty,
        "datasetversion": "6.0",
        "history": _cell([["Created by ramansr.io.write_scan"]]),
        "uniqueid": f"{_matlab_name(scan.name)}@ramansr",
    }
    return {key: fields[key] for key in _DATASET_FIELDS}


def _clock_vector(date):
    """ISO 8601 text or [y m d h min s] -> MATLAB clock vector, shape (1, 6)."""
    if isinstance(date, str):
        when = datetime.datetime.fromisoformat(date)
        return np.array(
            [[when.year, when.month, when.day, when.hour, when.minute, when.second + when.microsecond / 1e6]]
        )
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
    with h5py.File(path, "w", userblock_size=V73_USERBLOCK, libver="earliest") as file:
        references = file.create_group("#refs#")
        _h5_empty(references, "a", "canonical empty", (0, 0))
        for key, value in variables.items():
            _to_h5(file, references, key, value)
    header = _V73_HEADER_TEXT.ljust(116, b" ") + b" " * 8 + b"\x00\x02" + b"IM"
    with open(path, "r+b") as file:
        file.write(header.ljust(V73_USERBLOCK, b"\x00"))


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
        group.attrs.create(
            "MATLAB_fields",
            [np.frombuffer(name.encode(), dtype="S1") for name in value],
            dtype=h5py.vlen_dtype(np.dtype("S1")),
        )
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
    if isinstance(value, (RowBlocks, _PixelTable)):
        return _blocks_to_h5(parent, key, value)
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
    matlab_class = next(name for name, dtype in H5_CLASS_DTYPES.items() if value.dtype == dtype)
    if value.size == 0:
        return _h5_empty(parent, key, matlab_class, value.shape)
    stored = np.atleast_2d(value.astype(np.uint8) if matlab_class == "logical" else value).T
    dataset = parent.create_dataset(key, data=stored)
    _h5_class(dataset, matlab_class)
    return dataset


def _blocks_to_h5(parent, key, value):
    """A cube given as row blocks, stored as its whole would be (transposed), a block at a time."""
    cube = value.cube if isinstance(value, _PixelTable) else value
    rows, cols, channels = cube.shape
    # the MATLAB array transposed: (channels, pixels) for the WITec table, (channels, cols, rows) for a plain cube
    shape = (channels, rows * cols) if isinstance(value, _PixelTable) else (channels, cols, rows)
    dataset = parent.create_dataset(key, shape=shape, dtype=np.float32)
    for start, block in cube:
        stop = start + len(block)
        if isinstance(value, _PixelTable):
            dataset[:, start * cols : stop * cols] = np.ascontiguousarray(block.reshape(-1, channels).T)
        else:
            dataset[:, :, start:stop] = np.ascontiguousarray(block.T)
    _h5_class(dataset, "single")
    return dataset
