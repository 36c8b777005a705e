"""The MATLAB containers, level 5 and v7.3 (HDF5): a file's header, completeness and declared sizes, and its variables.

:func:`load_variables` returns every variable as MATLAB shows it (structs as dicts, cells as object
arrays, char as str, v7.3 arrays transposed back); :mod:`ramansr.io.mat` finds the scan in them.
"""

import struct

import h5py
import numpy as np
import scipy.io
from scipy.io.matlab import MatlabObject

from ramansr.io.scan import ScanFormatError, scan_error

HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
V73_USERBLOCK = 512
MAT5_HEADER = 128
_MI_MATRIX, _MI_COMPRESSED = 14, 15
_SMALL_DATASET = 2**20  # bytes; larger v7.3 datasets must be stored in full before they are read
H5_CLASS_DTYPES = {
    "double": np.float64,
    "single": np.float32,
    "int8": np.int8,
    "uint8": np.uint8,
    "int16": np.int16,
    "uint16": np.uint16,
    "int32": np.int32,
    "uint32": np.uint32,
    "int64": np.int64,
    "uint64": np.uint64,
    "logical": np.bool_,
}


def is_mat_file(head):
    """Whether the first bytes of a file carry a MATLAB level-5 or v7.3 header (or start one)."""
    return head.startswith(b"MATLAB") or head[126:128] in (b"IM", b"MI")


def load_variables(path, max_bytes):
    """Return ({name: value}, container) with structs as dicts and cells as object arrays."""
    with open(path, "rb") as file:
        head = file.read(V73_USERBLOCK + len(HDF5_SIGNATURE))
    size = path.stat().st_size
    if size == 0:
        raise scan_error(path, "empty file, not a MATLAB file")
    if len(head) < MAT5_HEADER:
        if head.startswith(b"MATLAB"):
            raise scan_error(path, f"truncated file: {size} bytes, shorter than the 128-byte MATLAB header")
        raise scan_error(path, "not a MATLAB file (no MATLAB level-5 or v7.3 header)")
    version, endian = head[124:126], head[126:128]
    if endian == b"IM":
        version = version[::-1]
    if endian not in (b"IM", b"MI") or version not in (b"\x01\x00", b"\x02\x00"):
        raise scan_error(path, "not a MATLAB file (no MATLAB level-5 or v7.3 header)")
    if version == b"\x02\x00":
        if head[V73_USERBLOCK:] != HDF5_SIGNATURE:
            raise scan_error(path, "truncated or corrupt MATLAB v7.3 file: no HDF5 data after the header")
        return _load_v73(path, max_bytes, size), "mat7.3"
    _check_mat5_complete(path, endian, size)
    try:
        raw = scipy.io.loadmat(path)
    except Exception as error:  # scipy raises many types for damaged files
        raise scan_error(path, f"corrupt MATLAB level-5 file ({type(error).__name__}: {error})") from error
    return {key: _from_mat5(value) for key, value in raw.items() if not key.startswith("__")}, "mat5"


def _check_mat5_complete(path, endian, size):
    """Walk the top-level elements of a level-5 file; raise if one runs past the end."""
    byte_order = "<" if endian == b"IM" else ">"
    offset = MAT5_HEADER
    with open(path, "rb") as file:
        while offset < size:
            file.seek(offset)
            tag = file.read(8)
            if len(tag) < 8:
                raise scan_error(path, f"truncated file: element tag at byte {offset} cut off at {size} bytes")
            data_type, nbytes = struct.unpack(byte_order + "II", tag)
            if data_type not in (_MI_MATRIX, _MI_COMPRESSED):
                raise scan_error(path, f"corrupt file: unknown element type {data_type} at byte {offset}")
            if data_type == _MI_MATRIX:
                nbytes += -nbytes % 8  # uncompressed elements are padded to 8 bytes
            end = offset + 8 + nbytes
            if end > size:
                raise scan_error(
                    path, f"truncated file: element at byte {offset} needs {end} bytes, the file has {size}"
                )
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


def _load_v73(path, max_bytes, file_size):
    try:
        with h5py.File(path, "r") as file:

            def check(item):  # each dataset, also those cells reference under #refs#, before it is read
                _check_declared_size(path, item.name, item, max_bytes, file_size)

            return {key: _from_h5(file, item, check) for key, item in file.items() if not key.startswith("#")}
    except (OSError, KeyError, RuntimeError, ValueError, TypeError) as error:
        if isinstance(error, ScanFormatError):
            raise
        raise scan_error(path, f"truncated or corrupt MATLAB v7.3 (HDF5) file ({error})") from error


def _check_declared_size(path, name, item, max_bytes, file_size):
    """Refuse a dataset declaring more than ``max_bytes``, or more than the file stores, before reading it."""
    if not isinstance(item, h5py.Dataset):
        return
    declared = item.size * item.dtype.itemsize
    if max_bytes is not None and declared > max_bytes:
        raise scan_error(
            path,
            f"dataset {name!r} declares {item.shape} {item.dtype} = {declared / 2**30:.3g} GiB, "
            f"more than the limit of {max_bytes / 2**30:.3g} GiB (max_bytes=)",
        )
    if declared <= _SMALL_DATASET or item.attrs.get("MATLAB_empty", 0):
        return  # small enough to read whatever it holds
    layout = item.id.get_create_plist().get_layout()
    if layout == h5py.h5d.CHUNKED:
        # compressed chunks may legitimately be smaller than the data: count them instead
        chunks = np.prod([-(-n // c) for n, c in zip(item.shape, item.chunks, strict=True)])
        stored = item.id.get_num_chunks()
        if stored < chunks:
            raise scan_error(
                path,
                f"dataset {name!r} declares {item.shape} {item.dtype} in {chunks} chunks "
                f"but the file stores {stored}: truncated or hostile file",
            )
    elif layout == h5py.h5d.CONTIGUOUS:
        offset = item.id.get_offset()
        if offset is None or offset + declared > file_size:
            raise scan_error(
                path,
                f"dataset {name!r} declares {item.shape} {item.dtype} = {declared} bytes, "
                f"beyond the file's {file_size} bytes: truncated or hostile file",
            )


def _from_h5(file, item, check):
    """Convert an HDF5 object written by MATLAB v7.3 to the shapes MATLAB shows."""
    attributes = dict(item.attrs)
    matlab_class = attributes.get("MATLAB_class", b"")
    matlab_class = matlab_class.decode() if isinstance(matlab_class, bytes) else str(matlab_class)
    if isinstance(item, h5py.Group):
        if "MATLAB_sparse" in attributes:
            return None  # sparse matrices are never scans
        fields = {key: _from_h5(file, child, check) for key, child in item.items()}
        if matlab_class not in ("struct", ""):
            fields["__class__"] = matlab_class
        return fields
    check(item)
    if attributes.get("MATLAB_empty", 0):
        if matlab_class == "char":
            return ""
        dims = tuple(int(n) for n in np.asarray(item[()]).reshape(-1)[::-1])
        return np.empty(dims, dtype=H5_CLASS_DTYPES.get(matlab_class, object))
    data = item[()]
    if matlab_class == "cell":
        data = data.T
        cell = np.empty(data.shape, dtype=object)
        for index, reference in np.ndenumerate(data):
            cell[index] = _from_h5(file, file[reference], check)
        return cell
    if matlab_class == "char":
        return "\n".join("".join(map(chr, row)) for row in np.atleast_2d(data.T))
    if data.dtype.names and {"real", "imag"} <= set(data.dtype.names):
        data = data["real"] + 1j * data["imag"]
    data = np.asarray(data).T
    if matlab_class == "logical":
        data = data.astype(bool)
    return data
