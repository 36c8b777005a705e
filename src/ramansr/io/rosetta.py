"""Read Renishaw WiRE (.wdf) and Horiba/JobinYvon LabSpec (.xml) maps through ``rosettasciio``.

rosettasciio returns, per signal in the file, ``data`` with ``axes`` (name,
size, scale or explicit ``axis``, units, ``navigate``, ``index_in_array``)
and ``metadata``. The spectral map is the signal with one spectral axis and
the navigation axes X and Y; they are moved to (Y, X, spectral) so that point
x of line y lands at ``cube[y, x]``. A map with one spatial navigation axis
reads as a one-line cube; a single spectrum or a time series is refused. A
signal axis in nm, or in absolute wavenumbers (LabSpec's "1/cm abs", which
rosettasciio names "Wavenumber" in 1/cm), is converted to Raman shift with the
laser wavelength of the metadata: shift = 1e7 / laser_nm - 1e7 / wavelength_nm
= 1e7 / laser_nm - wavenumber (rel. 1/cm).
"""

import logging

import numpy as np

from ramansr.io.scan import UNIT_TO_UM, WAVENUMBER_UNIT, finished_scan, pick_named, scan_error

#: rosettasciio plugin module per format name used in Scan.meta.
READERS = {"renishaw": "rsciio.renishaw", "horiba": "rsciio.jobinyvon"}
WDF_MAGIC = b"WDF1"
_SHIFT_UNITS = ("1/cm", "cm-1", "cm^-1", "rel. 1/cm")
# rosettasciio's names of a spectral axis in 1/cm: Raman shift, or LabSpec's absolute wavenumbers ("1/cm abs")
_SHIFT_NAME, _ABSOLUTE_NAME = "raman shift", "wavenumber"
_LENGTH_UNITS = ("µm", "um", "μm", *UNIT_TO_UM)


def _drop_lumispy_notice(record):
    return "lumispy" not in record.getMessage()


def is_horiba_xml(head):
    return head.lstrip().startswith(b"<?xml") and b"<LSX" in head


def read_rosetta(path, kind, variable=None, choose_with="variable="):
    """Read the spectral map of a .wdf (``kind='renishaw'``) or LabSpec .xml (``kind='horiba'``) file.

    Parameters
    ----------
    path : Path
        The file.
    kind : {'renishaw', 'horiba'}
    variable : str, optional
        Title of the map to take when the file holds several.
    choose_with : str
        How the caller names the choice, for the error listing the maps.
    """
    import importlib

    module = READERS[kind]
    # the reader warns on every file that the optional lumispy is absent: nothing a user can act on
    logging.getLogger(f"{module}._api").addFilter(_drop_lumispy_notice)
    try:
        signals = importlib.import_module(module).file_reader(str(path))
    except Exception as error:  # rosettasciio raises many types for damaged files
        raise scan_error(path, f"truncated or corrupt {kind} file ({type(error).__name__}: {error})") from error
    spectral = {_title(signal, index): signal for index, signal in enumerate(signals) if _spectral_axis(signal)}
    if not spectral:
        raise scan_error(path, "no spectral data (no signal with a spectral axis)")
    title = pick_named(path, spectral, variable, choose_with)
    signal = spectral[title]
    cube, pixel_size = _map_cube(path, signal)
    wavenumbers, meta = _raman_shift(path, signal)
    if kind == "renishaw":
        cube = _renishaw_pixel_order(path, signal, cube, meta)
    meta.update(
        format=kind,
        object=title,
        candidates=sorted(spectral),
        original_dtype=str(cube.dtype),
        container=path.suffix.lstrip(".").lower(),
    )
    return finished_scan(path, cube, wavenumbers, pixel_size, title, meta, label="spectral axis")


def _title(signal, index):
    return signal.get("metadata", {}).get("General", {}).get("title") or f"signal {index}"


def _spectral_axis(signal):
    axes = [axis for axis in signal["axes"] if axis.get("navigate") is False]
    return axes[0] if len(axes) == 1 and np.asarray(signal["data"]).dtype.kind in "fiu" else None


def _map_cube(path, signal):
    """(rows, cols, channels) and (dy, dx) um from the navigation axes X and Y."""
    data = np.asarray(signal["data"])
    navigation = {str(axis.get("name", "")).lower(): axis for axis in signal["axes"] if axis.get("navigate")}
    spatial = {
        name: axis
        for name, axis in navigation.items()
        if name in ("x", "y") and str(axis.get("units", "")) in _LENGTH_UNITS
    }
    if len(navigation) == 0 or len(spatial) != len(navigation):
        described = ", ".join(f"{name or '?'} ({axis.get('units', '')})" for name, axis in navigation.items())
        raise scan_error(
            path,
            "not a map: a single spectrum"
            if not navigation
            else f"not a map: navigation axes {described}, not X and Y in a length unit",
        )
    order = [spatial[name]["index_in_array"] for name in ("y", "x") if name in spatial]
    spectral_index = _spectral_axis(signal)["index_in_array"]
    cube = np.moveaxis(data, [*order, spectral_index], list(range(len(order) + 1)))
    if cube.ndim == 2:  # one line
        cube = cube[np.newaxis] if "x" in spatial else cube[:, np.newaxis]
    steps = [
        abs(float(spatial[name]["scale"])) * UNIT_TO_UM.get(str(spatial[name]["units"]), 1.0)
        if name in spatial
        else None
        for name in ("y", "x")
    ]
    steps = [step if step is not None else next(s for s in steps if s is not None) for step in steps]
    return cube, tuple(steps)


def _renishaw_pixel_order(path, signal, cube, meta):
    """Undo rosettasciio's row-major reshape of a column-major .wdf map (WMAP flag), which shears the image.

    rosettasciio 0.15 reshapes every map's spectra as (Y, X) with X fastest and ignores the WMAP
    pixel-order flag; a 'column_major' map lists its spectra down each column (Y fastest).
    """
    flag = signal.get("original_metadata", {}).get("WMAP_0", {}).get("flag")
    meta["pixel_order"] = flag or "row_major"
    if flag in ("alternating", "inverted_rows", "inverted_columns"):
        raise scan_error(path, f"the map's pixel order is {flag!r} (WMAP flag), which ramansr does not read")
    if flag != "column_major" or cube.shape[0] == 1:
        return cube
    rows, cols, channels = cube.shape
    in_acquisition_order = np.ascontiguousarray(cube).reshape(rows * cols, channels)
    return in_acquisition_order.reshape(cols, rows, channels).transpose(1, 0, 2)


def _axis_values(axis):
    if "axis" in axis:
        return np.asarray(axis["axis"], dtype=np.float64)
    return float(axis.get("offset", 0.0)) + float(axis.get("scale", 1.0)) * np.arange(int(axis["size"]))


def _raman_shift(path, signal):
    """The spectral axis in rel. 1/cm and what was done to get it."""
    axis = _spectral_axis(signal)
    values, unit = _axis_values(axis), str(axis.get("units", ""))
    name = str(axis.get("name", "")).lower()
    if unit == WAVENUMBER_UNIT or (unit in _SHIFT_UNITS and name == _SHIFT_NAME):
        return values, {"wavenumber_unit": WAVENUMBER_UNIT, "signal_axis_unit": unit}
    if unit in _SHIFT_UNITS and name == _ABSOLUTE_NAME:
        laser = _laser_nm(path, signal, "absolute wavenumbers (1/cm abs)")
        return 1e7 / laser - values, {
            "wavenumber_unit": WAVENUMBER_UNIT,
            "signal_axis_unit": "1/cm abs",
            "laser_wavelength_nm": laser,
            "converted": f"Raman shift = 1e7/{laser:g} nm - absolute wavenumber (1/cm)",
        }
    if unit in _SHIFT_UNITS:
        raise scan_error(
            path,
            f"spectral axis {axis.get('name')!r} in {unit!r}: cannot tell Raman shift from absolute wavenumbers "
            "(rosettasciio names the axis neither 'Raman Shift' nor 'Wavenumber')",
        )
    if unit != "nm":
        raise scan_error(
            path, f"spectral axis {axis.get('name')!r} is in {unit!r}, neither Raman shift (1/cm) nor wavelength (nm)"
        )
    laser = _laser_nm(path, signal, "nm")
    return 1e7 / laser - 1e7 / values, {
        "wavenumber_unit": WAVENUMBER_UNIT,
        "signal_axis_unit": "nm",
        "laser_wavelength_nm": laser,
        "converted": f"Raman shift = 1e7/{laser:g} nm - 1e7/wavelength (nm)",
    }


def _laser_nm(path, signal, axis_unit):
    """The laser wavelength (nm) of the metadata; refuse without one, which the axis in ``axis_unit`` needs."""
    laser = signal.get("metadata", {}).get("Acquisition_instrument", {}).get("Laser", {}).get("wavelength")
    if laser is None or not np.isfinite(float(laser)) or float(laser) <= 0:
        raise scan_error(
            path,
            f"spectral axis in {axis_unit} but no laser wavelength in the file's metadata: cannot convert to "
            f"Raman shift ({WAVENUMBER_UNIT}); export the map with a Raman shift axis, or with the laser "
            "wavelength recorded",
        )
    return float(laser)
