"""The Scan data contract, its error type and the checks every reader applies.

Data contract
-------------
A :class:`Scan` holds

- ``cube``: float32 array (rows, cols, channels); rows are scan lines (y),
  cols are points along a line (x): point x of line y is ``cube[y, x]``.
  Readers may keep the file's memory order (each channel image contiguous);
  call ``np.ascontiguousarray`` where pixel-interleaved memory is needed.
  A scan to be written may instead hold :class:`RowBlocks`, a cube made
  block by block while it is written (one too large to hold whole).
- ``wavenumbers``: float64 (channels,), Raman shift in rel. 1/cm, finite and
  strictly monotonic (kept in the file's order).
- ``pixel_size_um``: (dy, dx) in micrometres, or None when the file does not say.
- ``name`` and ``meta`` (format, container, object or variable, original
  dtype, units, conversions applied).
"""

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import numpy as np

WAVENUMBER_UNIT = "rel. 1/cm"
#: How the pixels of a list of spectra fill the grid: along each scan line first, or down each column first.
PIXEL_ORDERS = ("x fastest", "y fastest")
# Spatial units other than micrometres, as micrometres per unit.
UNIT_TO_UM = {"nm": 1e-3, "mm": 1e3, "cm": 1e4, "m": 1e6}


class ScanFormatError(ValueError):
    """A file that cannot be read as a scan (or a scan that cannot be written).

    ``candidates`` lists the objects to choose from when the file holds several (else empty).
    """

    def __init__(self, message, candidates=()):
        super().__init__(message)
        self.candidates = list(candidates)


class RowBlocks:
    """A cube made and consumed a block of rows at a time, never held whole.

    An SR cube at lab size is 16x its LR scan (5.9 GB for 300 x 300 LR points
    x 1024 channels); :func:`ramansr.io.write_scan` writes it to a MATLAB v7.3
    file block by block.

    Parameters
    ----------
    shape : tuple of int
        (rows, cols, channels) of the whole cube.
    make_blocks : callable
        Returns a fresh iterator over float32 arrays (r, cols, channels):
        consecutive blocks of rows that together make the cube.
    """

    ndim = 3
    dtype = np.dtype(np.float32)

    def __init__(self, shape: tuple[int, int, int], make_blocks: Callable[[], Iterator[np.ndarray]]):
        self.shape = tuple(int(n) for n in shape)
        self._make_blocks = make_blocks

    @property
    def nbytes(self):
        return int(np.prod(self.shape)) * self.dtype.itemsize

    def __iter__(self):
        """(first row, block) pairs; a block of the wrong shape or one row too many is refused."""
        start = 0
        for block in self._make_blocks():
            if block.ndim != 3 or block.shape[1:] != self.shape[1:] or start + len(block) > self.shape[0]:
                raise ValueError(f"a block of shape {block.shape} at row {start} does not fit a cube of {self.shape}")
            yield start, np.asarray(block, dtype=np.float32)
            start += len(block)
        if start != self.shape[0]:
            raise ValueError(f"the blocks end at row {start}, the cube has {self.shape[0]}")

    def whole(self):
        """The cube as one float32 array."""
        cube = np.empty(self.shape, dtype=np.float32)
        for start, block in self:
            cube[start : start + len(block)] = block
        return cube


@dataclass
class Scan:
    """A Raman spectral image.

    Parameters
    ----------
    cube : array_like, shape (rows, cols, channels), or RowBlocks
        Intensities; stored as float32. :class:`RowBlocks` (kept as it is)
        only for a scan to be written.
    wavenumbers : array_like, shape (channels,)
        Raman shift in rel. 1/cm; stored as float64.
    pixel_size_um : tuple of float (dy, dx), optional
        Pixel pitch in micrometres, None when unknown.
    name : str, optional
        Measurement name.
    meta : dict, optional
        Source format, container, original dtype, units and other details.
    """

    cube: np.ndarray | RowBlocks
    wavenumbers: np.ndarray
    pixel_size_um: tuple[float, float] | None = None
    name: str = ""
    meta: dict = field(default_factory=dict)

    def __post_init__(self):
        if not isinstance(self.cube, RowBlocks):
            self.cube = np.asarray(self.cube, dtype=np.float32)
        self.wavenumbers = np.asarray(self.wavenumbers, dtype=np.float64)
        if self.cube.ndim != 3:
            raise ValueError(f"cube must be (rows, cols, channels), got shape {self.cube.shape}")
        if self.wavenumbers.shape != (self.cube.shape[2],):
            raise ValueError(f"wavenumbers must have shape ({self.cube.shape[2]},), got {self.wavenumbers.shape}")
        if self.pixel_size_um is not None:
            dy, dx = self.pixel_size_um
            self.pixel_size_um = (float(dy), float(dx))


def scan_error(path, problem, candidates=()):
    """A :class:`ScanFormatError` whose message starts with the file."""
    return ScanFormatError(f"{path}: {problem}", candidates)


def pick_named(path, names, variable, choose_with, kind="map"):
    """The one of ``names`` to read: ``variable`` if given, else the only one.

    Raises a :class:`ScanFormatError` naming the file, the candidates and how
    to choose (``choose_with``) when ``variable`` is not among them or when
    there are several and none is chosen.
    """
    if variable is not None:
        if variable not in names:
            raise scan_error(path, f"no {kind} {variable!r}; {kind}s: {', '.join(sorted(names)) or 'none'}")
        return variable
    if len(names) > 1:
        raise scan_error(
            path, f"ambiguous: several {kind}s ({', '.join(sorted(names))}); pick one with {choose_with}", sorted(names)
        )
    return next(iter(names))


def is_numeric(value):
    return isinstance(value, np.ndarray) and value.dtype.kind in "fiuc"


def pixels_to_cube(data, rows, cols, order=PIXEL_ORDERS[0]):
    """(pixels, channels) -> (rows, cols, channels), a view where possible.

    ``order`` is one of :data:`PIXEL_ORDERS`: the pixels run along each scan
    line first ('x fastest') or down each column first ('y fastest').
    """
    if order == "x fastest":
        return data.T.reshape(data.shape[1], rows, cols).transpose(1, 2, 0)
    return data.T.reshape(data.shape[1], cols, rows).transpose(2, 1, 0)


def split_image_shape(path, image_shape):
    """(rows, cols, order or None) from ``image_shape`` = (rows, cols) or (rows, cols, order)."""
    *grid, order = (*image_shape, None) if len(image_shape) == 2 else image_shape
    if len(grid) != 2 or order not in (None, *PIXEL_ORDERS):
        raise scan_error(
            path,
            f"image shape {image_shape!r} is not (rows, cols) or (rows, cols, order) with order one of {PIXEL_ORDERS}",
        )
    rows, cols = (int(n) for n in grid)
    return rows, cols, order


def checked_axis(path, axis, channels, label="wavenumber axis"):
    """The axis as float64 (channels,); refuse non-numeric, complex, wrong length, non-finite, non-monotonic."""
    axis = np.asarray(axis)
    if not is_numeric(axis):
        raise scan_error(path, f"{label} is not numeric")
    if axis.dtype.kind == "c":
        raise scan_error(path, f"{label} is complex")
    axis = axis.reshape(-1).astype(np.float64)
    if axis.size == 0:
        raise scan_error(path, f"empty array: {label} has no values")
    if axis.size != channels:
        raise scan_error(path, f"axis length {axis.size} does not match the channel count {channels}")
    if not np.all(np.isfinite(axis)):
        raise scan_error(path, f"{label} holds {np.count_nonzero(~np.isfinite(axis))} NaN or inf values")
    steps = np.diff(axis)
    if not (np.all(steps > 0) or np.all(steps < 0)):
        at = int(np.flatnonzero(np.sign(steps) != np.sign(steps[0]))[0]) + 1 if steps.size else 0
        raise scan_error(
            path, f"{label} is not strictly monotonic (breaks at index {at}: {axis[at - 1]:g} -> {axis[at]:g})"
        )
    return axis


def check_data_kind(path, variable, data):
    """Refuse empty and complex intensity arrays."""
    if data.size == 0:
        raise scan_error(path, f"empty array: {variable} has shape {data.shape}")
    if data.dtype.kind == "c":
        raise scan_error(path, f"complex data: {variable} is {data.dtype}, not a Raman intensity")


def checked_cube(path, cube, wavenumbers, first_row=0):
    """Cast to float32 (keeping the memory order) and refuse NaN or inf, saying where.

    ``first_row``: the cube's first row in the whole one, when ``cube`` is a block of rows.
    """
    with np.errstate(over="ignore", invalid="ignore"):  # overflow is reported below, with its position
        cube32 = cube.astype(np.float32, order="K", copy=False)
        total = cube32.sum()  # a cheap first look: finite data has a finite sum (almost always)
    bad = None if np.isfinite(total) else ~np.isfinite(cube32)
    if bad is not None and bad.any():
        row, col, channel = (int(i) for i in np.argwhere(bad)[0])
        overflow = " (beyond float32 range)" if np.isfinite(cube[row, col, channel]) else ""
        row += first_row
        raise scan_error(
            path,
            f"{np.count_nonzero(bad)} NaN or inf values in the data; first at "
            f"(row {row}, col {col}, channel {channel}, {wavenumbers[channel]:g} rel. 1/cm)"
            f"{overflow}",
        )
    return cube32


def finished_scan(path, cube, wavenumbers, pixel_size_um, name, meta, label="wavenumber axis"):
    """Check a reader's arrays against the data contract and build the :class:`Scan`."""
    check_data_kind(path, meta.get("object") or meta.get("variable") or "data", cube)
    wavenumbers = checked_axis(path, wavenumbers, cube.shape[2], label)
    return Scan(checked_cube(path, cube, wavenumbers), wavenumbers, pixel_size_um, name, meta)


def check_scan_content(path, cube):
    """Refuse what reads fine but is no Raman map: one channel, one pixel, or one value everywhere."""
    rows, cols, channels = cube.shape
    if channels < 2:
        raise scan_error(path, f"{channels} channel: not a spectrum (the Raman axis needs at least 2 channels)")
    if rows * cols < 2:
        raise scan_error(path, "not a map: a single spectrum (1 x 1 grid)")
    first = cube[0, 0, 0]
    # cheap first look (one spectrum, one channel image) before a pass over the whole cube
    if np.all(cube[0, 0] == first) and np.all(cube[:, :, 0] == first) and not np.any(cube != first):
        raise scan_error(
            path, f"every value is {first:g}: a {'blank' if first == 0 else 'constant'} scan carries no image"
        )
