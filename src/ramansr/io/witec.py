"""Read WITec Project FIVE/SIX project and data files (.wip, .wid) through ``witio``.

A project holds many objects; the spectral maps are the ``TDGraph`` objects
with more than one point. ``witio`` gives each as (SizeX, SizeY, channels)
with SizeX the points along a scan line, so the cube is its (1, 0, 2)
transpose: point x of line y lands at ``cube[y, x]``. Line scans read as
one-line cubes. The pixel size comes from the object's space transformation
(the step of one pixel along x and along y), None where the object has none.
"""

import struct

import numpy as np

from ramansr.io.scan import WAVENUMBER_UNIT, finished_scan, pick_named, scan_error

#: First bytes of WITec project and data files (all versions witio reads).
MAGICS = (b"WIT_PRCT", b"WIT_DATA", b"WIT_PR06", b"WIT_DA06")


def read_witec(path, variable=None, choose_with="variable="):
    """Read one spectral map of a WITec .wip/.wid file as a :class:`~ramansr.io.scan.Scan`.

    Parameters
    ----------
    path : Path
        The file (already known to start with a WITec magic string).
    variable : str, optional
        Caption of the map to take when the file holds several.
    choose_with : str
        How the caller names the choice, for the error listing the maps.
    """
    import witio  # imported here: a stage reading .mat files does not pay for it

    content = path.read_bytes()
    _check_complete(path, content)
    try:
        # parsed from memory: a damaged tag declaring a huge size then reads as a short tag,
        # instead of asking the file object for that many bytes
        project = witio.read_bytes(content)
        graphs = project.find(class_name="TDGraph")
        maps = {graph.caption: graph for graph in graphs if _points(graph) > 1}
    except Exception as error:  # witio raises many types for damaged files
        raise scan_error(path, f"truncated or corrupt WITec file ({type(error).__name__}: {error})") from error
    caption = _pick_map(path, project, maps, variable, choose_with)
    graph = maps[caption]
    try:
        spectra = graph.array()
        axis, unit = graph.x_axis(WAVENUMBER_UNIT)
        pixel_size = _pixel_size(project, graph)
    except Exception as error:
        raise scan_error(path, f"cannot read the WITec object {caption!r} ({type(error).__name__}: {error})") from error
    if unit != WAVENUMBER_UNIT:
        raise scan_error(
            path,
            f"the spectral axis of {caption!r} is in {unit!r} and witio cannot convert it to "
            f"{WAVENUMBER_UNIT} (no laser wavelength in the file?)",
        )
    meta = {
        "format": "witec-project",
        "object": caption,
        "candidates": sorted(maps),
        "original_dtype": str(spectra.dtype),
        "wavenumber_unit": WAVENUMBER_UNIT,
        "container": "wit-tag",
    }
    return finished_scan(path, spectra.transpose(1, 0, 2), axis, pixel_size, caption, meta)


def _check_complete(path, content):
    """The root tag's declared end must lie within the file (WIT-tag: magic, then name length, name, type,
    payload start and end)."""
    header = 8 + 4
    if len(content) < header:
        raise scan_error(path, f"truncated file: {len(content)} bytes, no WITec root tag")
    (name_length,) = struct.unpack_from("<I", content, 8)
    end_at = header + name_length + 4 + 8
    if len(content) < end_at + 8:
        raise scan_error(path, f"truncated file: {len(content)} bytes, the WITec root tag is cut off")
    (end,) = struct.unpack_from("<Q", content, end_at)
    if end > len(content):
        raise scan_error(path, f"truncated file: the WITec root tag declares {end} bytes, the file has {len(content)}")


def _points(graph):
    payload = graph.payload
    return int(payload["SizeX"].scalar()) * int(payload["SizeY"].scalar())


def _pick_map(path, project, maps, variable, choose_with):
    if variable is None and not maps:
        objects = [f"{data.caption} ({data.class_name})" for data in project.data]
        raise scan_error(
            path,
            f"no spectral map (no TDGraph object with more than one point); objects: {', '.join(objects) or 'none'}",
        )
    return pick_named(path, maps, variable, choose_with, kind="spectral map")


def _pixel_size(project, graph):
    """(dy, dx) in um: the length of one pixel step along y and along x; None without a space transformation."""
    reference = graph.payload.find("SpaceTransformationID")
    space = project.find_by_id(reference.scalar()) if reference is not None else None
    if space is None or space.class_name != "TDSpaceTransformation":
        return None
    corners, unit = space.apply_space_transform(np.array([[0.0, 0, 0], [1, 0, 0], [0, 1, 0]]))
    if unit != "um":
        return None
    dx, dy = (float(np.linalg.norm(corners[i] - corners[0])) for i in (1, 2))
    return dy, dx
