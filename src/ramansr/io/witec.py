"""Read WITec Project FIVE/SIX project and data files (.wip, .wid) through ``witio``.

A project holds many objects; the spectral maps are the ``TDGraph`` objects
with more than one point that are images or lines. A ``TDGraph``'s TData
``ImageIndex`` says what it holds (:data:`GRAPH_KINDS`), and a time series of
WITec Project FIVE links a time axis (a ``TDLinearTransformation`` in s) where
a map links its ``TDSpaceTransformation``: anything but an image or line on a
spatial grid is refused, by name. ``witio`` gives each map as (SizeX, SizeY,
channels) with SizeX the points along a scan line, so the cube is its (1, 0, 2)
transpose: point x of line y lands at ``cube[y, x]``. Line scans read as
one-line cubes. The pixel size comes from the object's space transformation
(the step of one pixel along x and along y), None where the object has none.
"""

import struct

import numpy as np

from ramansr.io.scan import WAVENUMBER_UNIT, finished_scan, pick_named, scan_error

#: First bytes of WITec project and data files (all versions witio reads).
MAGICS = (b"WIT_PRCT", b"WIT_DATA", b"WIT_PR06", b"WIT_DA06")
#: What a TDGraph holds, by its TData ImageIndex (wit_io's complete list); images and lines are maps.
GRAPH_KINDS = {0: "image", 1: "line", 2: "point", 3: "array", 4: "histogram", 5: "time series", 6: "mask"}
_MAP_KINDS = ("image", "line")
_TIME_UNIT_KIND = 3  # TDTransformation UnitKind of a linear transformation in seconds


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
        graphs = [graph for graph in project.find(class_name="TDGraph") if _points(graph) > 1]
        not_maps = {graph.caption: reason for graph in graphs if (reason := not_a_map(graph))}
        maps = {graph.caption: graph for graph in graphs if graph.caption not in not_maps}
    except Exception as error:  # witio raises many types for damaged files
        raise scan_error(path, f"truncated or corrupt WITec file ({type(error).__name__}: {error})") from error
    if variable in not_maps:
        raise scan_error(path, f"the object {variable!r} is {not_maps[variable]}, not a spatial map or line scan")
    caption = _pick_map(path, project, maps, not_maps, variable, choose_with)
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


def not_a_map(graph):
    """Why a TDGraph is no spatial map or line scan (e.g. 'a time series (ImageIndex 5)'); None for a map."""
    index = graph.tdata.find("ImageIndex") if graph.tdata is not None else None
    if index is not None and GRAPH_KINDS.get(int(index.scalar())) not in _MAP_KINDS:
        number = int(index.scalar())
        return f"a {GRAPH_KINDS.get(number, 'TDGraph of unknown kind')} (TDGraph ImageIndex {number})"
    reference = graph.payload.find("SpaceTransformationID")
    positions = graph.project.find_by_id(reference.scalar()) if reference is not None else None
    if positions is None or positions.class_name == "TDSpaceTransformation":
        return None
    common = positions.tag.find("TDTransformation")
    unit_kind = common.find("UnitKind") if common is not None else None
    if unit_kind is not None and int(unit_kind.scalar()) == _TIME_UNIT_KIND:
        return f"a time series (its positions are a {positions.class_name} in seconds)"
    return f"not on a spatial grid (its positions are a {positions.class_name})"


def _pick_map(path, project, maps, not_maps, variable, choose_with):
    if variable is None and not maps:
        objects = [f"{data.caption} ({not_maps.get(data.caption) or data.class_name})" for data in project.data]
        raise scan_error(
            path,
            "no spectral map (no TDGraph image or line with more than one point); "
            f"objects: {', '.join(objects) or 'none'}",
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
