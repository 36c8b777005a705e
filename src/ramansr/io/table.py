"""Read and write the WITec "Table" text export (.txt).

Layout: tab-separated; optionally a label line naming each column
(``X-Axis``, then ``<name>_F(x/y)`` for point x of line y) and a units line
(``rel. 1/cm``, ``CCD cts``), each of which WITec lets the user leave out;
then one row per channel: the wavenumber, then one intensity per point.
Point (x, y) lands at ``cube[y, x]``.

Without the label line the grid comes from ``image_shape=(rows, cols)`` and
nothing in the file says the order of the point columns: WITec Project FOUR
writes them down each column of the map ('y fastest'), other exports along
each scan line ('x fastest'). The order is taken from ``image_shape=(rows,
cols, order)`` when stated, else the one whose image is smooth (neighbouring
spectra alike) is chosen and logged; a file where the two orders cannot be
told apart (a square grid, or no spatial structure) is refused.
"""

import logging
import re

import numpy as np

from ramansr.io.scan import (
    PIXEL_ORDERS,
    WAVENUMBER_UNIT,
    Scan,
    checked_axis,
    checked_cube,
    pixels_to_cube,
    scan_error,
    split_image_shape,
)
from ramansr.io_utils import atomic_path

HEADER_START = "X-Axis"
# Detecting the pixel order: neighbouring spectra must differ by less than this fraction of what two
# spectra picked at random do (a spatially smooth image, Geary's c) ...
_SMOOTH = 0.7
# ... and the other order's neighbours this many times more (the real WITec export: 1.54; no structure: < 1.05)
_ORDER_MARGIN = 1.25
_BLOCK_CHANNELS = 64  # channel images compared at a time, bounding the memory the check takes
_POINT = re.compile(r"\((\d+)/(\d+)\)\s*$")
_INTENSITY_UNIT = "CCD cts"


def looks_like_table(head):
    """Whether a file's first bytes read as a Table export.

    The first line is the label line, a units line (the axis unit, then one
    intensity unit repeated) or a line of tab-separated numbers.
    """
    first, newline, _ = head.partition(b"\n")
    if first.startswith(HEADER_START.encode()):
        return True
    cells = first.strip(b"\r").split(b"\t")
    if not newline:  # a first line longer than the bytes looked at: its last cell may be cut
        cells = cells[:-1]
    if len(cells) < 2:
        return False
    numbers = [_is_number(cell) for cell in cells]
    if all(numbers):
        return True
    return not any(numbers) and len(set(cells[1:])) == 1 and bool(cells[1].strip())


def read_table(path, image_shape=None, shape_from="image_shape=(rows, cols)"):
    """Read a WITec Table export as a :class:`~ramansr.io.scan.Scan`.

    Parameters
    ----------
    path : Path
        The text file.
    image_shape : tuple (rows, cols) or (rows, cols, order), optional
        The grid of an export without label line (ignored when the labels give
        it); ``order`` one of :data:`~ramansr.io.scan.PIXEL_ORDERS`, else
        detected from the data.
    shape_from : str
        How the caller passes the grid, for the errors that ask for it.
    """
    import pandas as pd

    with open(path, "rb") as file:
        file.seek(-1, 2)
        if file.read(1) != b"\n":  # the export ends every line; a cut can leave a shorter, valid-looking number
            raise scan_error(path, "truncated file: the last line has no line end")
    names, units = _header(path)
    skip = (names is not None) + (units is not None)
    try:
        values = pd.read_csv(
            path, sep="\t", header=None, skiprows=skip, dtype=np.float64, engine="c", na_filter=False
        ).to_numpy()
    except (ValueError, pd.errors.ParserError, pd.errors.EmptyDataError):
        # names the bad line, or reads NaN/inf cells for the check below
        values = _parse_slowly(path, skip, names or units)
    if values.shape[1] < 2:
        raise scan_error(path, "not a WITec Table export: one column, no intensities")
    wavenumbers = checked_axis(path, values[:, 0], values.shape[0], f"wavenumber column ({HEADER_START})")
    spectra = values[:, 1:]
    if names is not None:
        cube, meta = _cube_from_names(path, names, spectra)
    else:
        cube, meta = _cube_from_shape(path, spectra, image_shape, shape_from, skip)
    cube = checked_cube(path, cube, wavenumbers)
    meta.update(format="witec-table", original_dtype="text", container="text", wavenumber_unit=WAVENUMBER_UNIT)
    name = _POINT.sub("", names[1]).removesuffix("_F") if names else path.stem
    return Scan(cube, wavenumbers, None, name, meta)


def _header(path):
    """The label line and the units line as lists of cells, each None where the export leaves it out."""
    with open(path, encoding="latin-1") as file:
        lines = [file.readline().rstrip("\r\n").split("\t") for _ in range(2)]
    names = lines.pop(0) if lines[0][0] == HEADER_START else None
    units = lines.pop(0) if lines[0] != [""] and not _is_number(lines[0][0]) else None
    if names is not None and units is not None and len(units) != len(names):
        raise scan_error(path, f"line 2 (units) has {len(units)} columns, line 1 (names) {len(names)}")
    if units is not None and units[0].strip() != WAVENUMBER_UNIT:
        raise scan_error(
            path,
            f"line {1 + (names is not None)} (units): the axis is in {units[0].strip()!r}, "
            f"not Raman shift ({WAVENUMBER_UNIT}); export it in {WAVENUMBER_UNIT}",
        )
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


def _cube_from_shape(path, spectra, image_shape, shape_from, skip):
    """The cube of an export without label line: the grid given, the order given or detected."""
    if image_shape is None:
        raise scan_error(
            path,
            f"Table export without header lines: the grid of its {spectra.shape[1]} points is "
            f"unknown; give it with {shape_from}",
        )
    rows, cols, order = split_image_shape(path, image_shape)
    if rows * cols != spectra.shape[1]:
        raise scan_error(
            path,
            f"the image shape {rows} x {cols} gives {rows * cols} points but the file has "
            f"{spectra.shape[1]} intensity columns",
        )
    found = "stated"
    if order is None:
        order, found = _detect_order(path, spectra, rows, cols, shape_from, skip)
    return pixels_to_cube(spectra.T, rows, cols, order), {"layout": f"no labels, columns {order} ({found})"}


def _detect_order(path, spectra, rows, cols, shape_from, skip):
    """The pixel order whose image is smooth, and how it was found; refuse when the data cannot tell."""
    if rows == 1 or cols == 1:
        return PIXEL_ORDERS[0], "one line: both orders agree"
    bad = ~np.isfinite(spectra)
    if bad.any():  # before the check, which they would spoil; the grid is not known yet, so the file's place
        line, column = (int(i) for i in np.argwhere(bad)[0])
        raise scan_error(
            path,
            f"{np.count_nonzero(bad)} NaN or inf values in the data; first at line {skip + line + 1}, "
            f"column {column + 2}",
        )
    if rows == cols:
        reason = "a square grid: the two orders give the same image, transposed"
    else:
        roughness = _roughness(spectra, rows, cols)
        best, other = sorted(PIXEL_ORDERS, key=roughness.get)
        numbers = "neighbour/random difference " + ", ".join(f"{key} {value:.2f}" for key, value in roughness.items())
        if roughness[best] <= _SMOOTH and roughness[other] >= _ORDER_MARGIN * roughness[best]:
            found = f"detected: {numbers}"
            logging.getLogger(__name__).warning("%s: Table export without label line read %s (%s)", path, best, found)
            return best, found
        reason = f"neither order gives a clearly smoother image: {numbers}"
    raise scan_error(
        path,
        f"Table export without label line: the order of its {rows * cols} point columns cannot be told "
        f"from the data ({reason}); give it with the grid ({shape_from}): add 'x fastest' if the columns "
        "run along each scan line first (as in exports with header lines), 'y fastest' if down each "
        f"column first (as WITec Project FOUR writes them), e.g. '{rows} x {cols}, y fastest' or "
        f"({rows}, {cols}, 'y fastest')",
    )


def _roughness(spectra, rows, cols):
    """Per pixel order: the mean squared difference of neighbouring spectra over that of two random ones.

    Geary's c over all channels: about 1 when the order scrambles the image, small when it is smooth.
    """
    pairs = 2 * rows * cols - rows - cols
    neighbours, spread = dict.fromkeys(PIXEL_ORDERS, 0.0), 0.0
    for start in range(0, len(spectra), _BLOCK_CHANNELS):
        block = spectra[start : start + _BLOCK_CHANNELS]
        block = block - block.mean(axis=1, keepdims=True)
        spread += 2 * np.square(block).sum() / (rows * cols)
        for order in PIXEL_ORDERS:
            images = pixels_to_cube(block.T, rows, cols, order)
            neighbours[order] += np.square(np.diff(images, axis=0)).sum() + np.square(np.diff(images, axis=1)).sum()
    return {order: value / pairs / spread if spread else 1.0 for order, value in neighbours.items()}


def _parse_slowly(path, skip, header):
    """Parse line by line: raise naming the first ragged or non-numeric row, else return the values."""
    expected = len(header) if header else None
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
        them the points run along each scan line first ('x fastest') and the
        reader needs the image shape.
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
