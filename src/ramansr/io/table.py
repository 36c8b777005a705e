"""Read and write the WITec "Table" text export (.txt).

Layout: tab-separated; optionally a header line naming each column
(``X-Axis``, then ``<name>_F(x/y)`` for point x of line y, x fastest) and a
units line (``rel. 1/cm``, ``CCD cts``); then one row per channel: the
wavenumber, then one intensity per point. Without the header lines the grid
comes from ``image_shape=(rows, cols)`` and the points run along a line
first. Point (x, y) lands at ``cube[y, x]``.
"""

import re

import numpy as np

from ramansr.io.scan import (
    WAVENUMBER_UNIT,
    Scan,
    checked_axis,
    checked_cube,
    scan_error,
)
from ramansr.io_utils import atomic_path

HEADER_START = "X-Axis"
_POINT = re.compile(r"\((\d+)/(\d+)\)\s*$")
_INTENSITY_UNIT = "CCD cts"


def looks_like_table(head):
    """Whether a file's first bytes read as a Table export: the header line, or a line of tab-separated numbers."""
    first, newline, _ = head.partition(b"\n")
    if first.startswith(HEADER_START.encode()):
        return True
    cells = first.strip(b"\r").split(b"\t")
    if not newline:  # a first line longer than the bytes looked at: its last cell may be cut
        cells = cells[:-1]
    try:
        [float(cell) for cell in cells]
    except ValueError:
        return False
    return len(cells) >= 2


def read_table(path, image_shape=None, shape_from="image_shape=(rows, cols)"):
    """Read a WITec Table export as a :class:`~ramansr.io.scan.Scan`.

    Parameters
    ----------
    path : Path
        The text file.
    image_shape : tuple of int (rows, cols), optional
        The grid of an export without header lines (ignored when the header gives it).
    shape_from : str
        How the caller passes the grid, for the error when it is missing.
    """
    import pandas as pd

    with open(path, "rb") as file:
        has_header = file.read(len(HEADER_START)) == HEADER_START.encode()
        file.seek(-1, 2)
        if file.read(1) != b"\n":  # the export ends every line; a cut can leave a shorter, valid-looking number
            raise scan_error(path, "truncated file: the last line has no line end")
    names, units = _header(path) if has_header else (None, None)
    skip = 2 if has_header else 0
    try:
        values = pd.read_csv(
            path, sep="\t", header=None, skiprows=skip, dtype=np.float64, engine="c", na_filter=False
        ).to_numpy()
    except (ValueError, pd.errors.ParserError, pd.errors.EmptyDataError):
        values = _parse_slowly(path, skip, names)  # names the bad line, or reads NaN/inf cells for the check below
    if values.shape[1] < 2:
        raise scan_error(path, "not a WITec Table export: one column, no intensities")
    wavenumbers = checked_axis(path, values[:, 0], values.shape[0], f"wavenumber column ({HEADER_START})")
    spectra = values[:, 1:]
    if names is not None:
        cube, meta = _cube_from_names(path, names, spectra)
    else:
        cube, meta = _cube_from_shape(path, spectra, image_shape, shape_from)
    cube = checked_cube(path, cube, wavenumbers)
    meta.update(
        format="witec-table",
        original_dtype="text",
        container="text",
        wavenumber_unit=(units[0] if units else WAVENUMBER_UNIT),
    )
    name = _POINT.sub("", names[1]).removesuffix("_F") if names else path.stem
    return Scan(cube, wavenumbers, None, name, meta)


def _header(path):
    with open(path, encoding="latin-1") as file:
        names = file.readline().rstrip("\r\n").split("\t")
        units = file.readline().rstrip("\r\n").split("\t")
    if len(units) != len(names):
        raise scan_error(path, f"line 2 (units) has {len(units)} columns, line 1 (names) {len(names)}")
    return names, units


def _cube_from_names(path, names, spectra):
    """Place each column at the (x/y) its name gives; every grid point exactly once."""
    if len(names) - 1 != spectra.shape[1]:
        raise scan_error(path, f"line 1 names {len(names) - 1} points but the data rows have {spectra.shape[1]}")
    points = []
    for column, name in enumerate(names[1:], start=2):
        match = _POINT.search(name)
        if match is None:
            raise scan_error(path, f"column {column} ({name!r}) does not end in (x/y)")
        points.append((int(match.group(1)), int(match.group(2))))
    xs, ys = np.array(points).T
    rows, cols = ys.max() + 1, xs.max() + 1
    if rows * cols != len(points) or len(set(points)) != len(points):
        raise scan_error(
            path,
            f"the (x/y) column names do not cover a {rows} x {cols} grid once each "
            f"({len(points)} columns, {len(set(points))} distinct points)",
        )
    cube = np.empty((rows, cols, spectra.shape[0]), dtype=spectra.dtype)
    cube[ys, xs] = spectra.T
    return cube, {"layout": "named (x/y) columns"}


def _cube_from_shape(path, spectra, image_shape, shape_from):
    if image_shape is None:
        raise scan_error(
            path,
            f"Table export without header lines: the grid of its {spectra.shape[1]} points is "
            f"unknown; give it with {shape_from}",
        )
    rows, cols = (int(n) for n in image_shape)
    if rows * cols != spectra.shape[1]:
        raise scan_error(
            path,
            f"the image shape {rows} x {cols} gives {rows * cols} points but the file has "
            f"{spectra.shape[1]} intensity columns",
        )
    # columns run along a line first: (channels, rows * cols) -> (rows, cols, channels) as a view
    return spectra.reshape(-1, rows, cols).transpose(1, 2, 0), {"layout": "columns along lines first"}


def _parse_slowly(path, skip, names):
    """Parse line by line: raise naming the first ragged or non-numeric row, else return the values."""
    expected = len(names) if names else None
    rows = []
    with open(path, encoding="latin-1") as file:
        for number, line in enumerate(file, start=1):
            if number <= skip:
                continue
            cells = line.rstrip("\r\n").split("\t")
            expected = expected or len(cells)
            if len(cells) != expected:
                raise scan_error(path, f"line {number} has {len(cells)} columns, expected {expected} (ragged rows)")
            try:
                rows.append([float(cell) for cell in cells])
            except ValueError:
                column, cell = next((i, c) for i, c in enumerate(cells, start=1) if not _is_number(c))
                raise scan_error(
                    path, f"line {number}, column {column}: {cell.strip()[:40]!r} is not a number"
                ) from None
    if not rows:
        raise scan_error(path, "not a WITec Table export: no data rows")
    return np.array(rows)


def _is_number(cell):
    try:
        float(cell)
    except ValueError:
        return False
    return True


def write_table(scan, path, header=True):
    """Write a scan as a WITec Table export that :func:`read_table` reads back unchanged.

    Parameters
    ----------
    scan : Scan
        The image; intensities are written with 9 significant digits (float32 exactly).
    path : str or Path
        Destination, replaced atomically.
    header : bool
        Write the two header lines (column names with (x/y), units); without
        them the reader needs the image shape.
    """
    wavenumbers = checked_axis(f"cannot write {path}", scan.wavenumbers, scan.cube.shape[2])
    cube = checked_cube(f"cannot write {path}", scan.cube, wavenumbers)
    rows, cols, channels = cube.shape
    # (channels, points) with points along a line first, the wavenumber column in front
    table = np.column_stack([wavenumbers, cube.reshape(rows * cols, channels).T.astype(np.float64)])
    lines = ""
    if header:
        name = scan.name or "scan"
        lines = "\t".join([HEADER_START] + [f"{name}_F({x}/{y})" for y in range(rows) for x in range(cols)]) + "\n"
        lines += "\t".join([WAVENUMBER_UNIT] + [_INTENSITY_UNIT] * (rows * cols)) + "\n"
    with atomic_path(path) as temporary, open(temporary, "w", encoding="latin-1") as file:
        file.write(lines)
        np.savetxt(file, table, fmt="%.9g", delimiter="\t")
