"""Read and write Raman spectral images ("scans") from the files labs have.

:func:`read_scan` detects the format from the file's content, never from its
name, and returns a :class:`Scan` (see :mod:`ramansr.io.scan` for the data
contract: point x of line y at ``cube[y, x]``, Raman shift in rel. 1/cm):

===================  ==============================================  ======================
format (meta)        files                                           module
===================  ==============================================  ======================
``witec``/``plain``  MATLAB level 5 and v7.3: the WITec export,      :mod:`~ramansr.io.mat`
                     plain arrays with a wavenumber vector
``witec-project``    WITec Project/Data files (.wip, .wid), witio    :mod:`~ramansr.io.witec`
``witec-table``      WITec "Table" text export (.txt)                :mod:`~ramansr.io.table`
``renishaw``         Renishaw WiRE .wdf, rosettasciio                :mod:`~ramansr.io.rosetta`
``horiba``           Horiba/JobinYvon LabSpec .xml, rosettasciio     :mod:`~ramansr.io.rosetta`
===================  ==============================================  ======================

Anything that cannot be read as a scan raises :class:`ScanFormatError` naming
the file and the problem (library errors are kept as the cause); the input is
only ever opened for reading. :func:`write_scan` writes MATLAB files,
:func:`write_table` Table exports, both atomically.
"""

import math
import re
from pathlib import Path

from ramansr.io.mat import AXIS_NAMES, IMAGESIZE_NAMES, read_mat
from ramansr.io.mat_container import is_mat_file
from ramansr.io.mat_write import write_scan
from ramansr.io.rosetta import WDF_MAGIC, is_horiba_xml, read_rosetta
from ramansr.io.scan import PIXEL_ORDERS, RowBlocks, Scan, ScanFormatError, check_scan_content, scan_error
from ramansr.io.table import looks_like_table, read_table, write_table
from ramansr.io.witec import MAGICS as WITEC_MAGICS
from ramansr.io.witec import read_witec

__all__ = [
    "AXIS_NAMES",
    "DEFAULT_MAX_BYTES",
    "FORMATS",
    "IMAGESIZE_NAMES",
    "PIXEL_ORDERS",
    "RowBlocks",
    "Scan",
    "ScanFormatError",
    "detect_format",
    "parse_image_shape",
    "read_scan",
    "read_scan_for_pipeline",
    "write_scan",
    "write_table",
]

#: Largest array a MATLAB v7.3 file may declare (bytes) unless read_scan is given another max_bytes.
DEFAULT_MAX_BYTES = 32 * 2**30
#: Format names detect_format returns, with what they are.
FORMATS = {
    "mat": "MATLAB level 5 / v7.3 (WITec export or plain arrays)",
    "witec-project": "WITec Project/Data file (.wip/.wid)",
    "witec-table": "WITec Table text export",
    "renishaw": "Renishaw WiRE .wdf",
    "horiba": "Horiba/JobinYvon LabSpec .xml",
}
_SNIFF_BYTES = 4096
_ORDER_SUFFIX = re.compile(r"[\s,;]+([xy])[\s_-]*fastest\s*$")


def detect_format(path):
    """The format of a file from its first bytes: a key of :data:`FORMATS`.

    Raises
    ------
    ScanFormatError
        For an empty file, a path that is no readable file, or content of no known format.
    FileNotFoundError
        If ``path`` does not exist.
    """
    path = Path(path)
    try:
        with open(path, "rb") as file:
            head = file.read(_SNIFF_BYTES)
    except FileNotFoundError:
        raise
    except OSError as error:  # a directory, no read permission, a symlink loop, an I/O error
        raise scan_error(path, f"cannot read the file ({type(error).__name__}: {error.strerror or error})") from error
    if not head:
        raise scan_error(path, "empty file, not a MATLAB file or any other scan format")
    if head[:8] in WITEC_MAGICS:
        return "witec-project"
    if head.startswith(WDF_MAGIC):
        return "renishaw"
    if is_horiba_xml(head):
        return "horiba"
    if is_mat_file(head):
        return "mat"
    if looks_like_table(head):
        return "witec-table"
    raise scan_error(
        path,
        "unknown format: not a MATLAB file (no MATLAB level-5 or v7.3 header), nor a WITec "
        ".wip/.wid, Renishaw .wdf, Horiba .xml or WITec Table export",
    )


def read_scan(
    path,
    variable=None,
    image_shape=None,
    *,
    max_bytes=DEFAULT_MAX_BYTES,
    choose_with="variable=",
    shape_from="image_shape=(rows, cols)",
):
    """Read a spectral image from any supported file; the format comes from its content.

    Parameters
    ----------
    path : str or Path
        The scan file.
    variable : str, optional
        The MATLAB variable, WITec object caption or rosettasciio signal title
        to take when the file holds several candidates.
    image_shape : tuple (rows, cols) or (rows, cols, order), optional
        Grid of plain 2-D MATLAB spectra (overrides an ``imagesize`` variable)
        and of Table exports without header lines; ``order`` ('x fastest' or
        'y fastest', :data:`PIXEL_ORDERS`) says whether the spectra run along
        each scan line or down each column first (a Table export's is detected
        when not given; plain spectra default to 'x fastest').
    max_bytes : int or None
        Largest array a MATLAB v7.3 file may declare; None for no limit.
    choose_with, shape_from : str
        How the caller passes ``variable`` and ``image_shape``, for the errors
        that ask for them (the pipeline names its config key and sheet columns).

    Returns
    -------
    Scan
        The unsheared image, its Raman-shift axis and pixel size; ``meta``
        says the format, the object taken, the other candidates and any
        conversion of the axis.

    Raises
    ------
    ScanFormatError
        If the file is no readable scan, or holds one channel, one pixel or one
        value everywhere; the message names the file and the problem.
    FileNotFoundError
        If ``path`` does not exist.
    """
    path = Path(path)
    kind = detect_format(path)
    if kind == "mat":
        scan = read_mat(path, variable, image_shape, max_bytes, choose_with)
    elif kind == "witec-project":
        scan = read_witec(path, variable, choose_with)
    elif kind == "witec-table":
        scan = read_table(path, image_shape, shape_from)
    else:
        scan = read_rosetta(path, kind, variable, choose_with)
    check_scan_content(path, scan.cube)
    scan.meta["source"] = str(path)
    return scan


def read_scan_for_pipeline(path, variable, image_shape_text, scan):
    """:func:`read_scan` as the convert stage calls it: errors name the config key and sheet column.

    Parameters
    ----------
    path : str or Path
        The scan file.
    variable : str or None
        ``mat_variable:`` of config.yaml.
    image_shape_text : str or None
        The samples sheet's ``{scan}_shape`` cell ('rows x cols').
    scan : {'lowres', 'highres'}
        Which scan of the area, for the sheet column named in errors.
    """
    try:
        image_shape = parse_image_shape(image_shape_text)
    except ValueError as error:
        raise scan_error(path, f"samples sheet column {scan}_shape: {error}") from error
    return read_scan(
        path,
        variable,
        image_shape,
        choose_with="mat_variable: in config.yaml",
        shape_from=f"the samples sheet column {scan}_shape ('rows x cols')",
    )


def parse_image_shape(text):
    """'rows x cols' (as in a samples sheet), optionally with the pixel order -> (rows, cols[, order]).

    'rows x cols, y fastest' (or 'x fastest') gives the order of a list of
    spectra (:data:`PIXEL_ORDERS`); None for an empty cell.

    Raises
    ------
    ValueError
        If the text is not two positive integers separated by 'x', optionally followed by the order.
    """
    if text is None or (isinstance(text, float) and math.isnan(text)) or not str(text).strip():
        return None
    grid = str(text).lower().replace("\u00d7", "x")
    stated = _ORDER_SUFFIX.search(grid)
    if stated:
        grid = grid[: stated.start()]
    parts = grid.split("x")
    try:
        rows, cols = (int(part) for part in parts)
    except ValueError:
        raise ValueError(
            f"image shape {text!r} is not 'rows x cols' (optionally ', x fastest' or ', y fastest')"
        ) from None
    if rows < 1 or cols < 1:
        raise ValueError(f"image shape {text!r} is not 'rows x cols' with positive numbers")
    return (rows, cols, f"{stated.group(1)} fastest") if stated else (rows, cols)
