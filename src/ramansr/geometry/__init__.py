"""The run's geometry: one SR factor from the scans' pixel sizes, and the checks that refuse impossible pairs.

The SR factor is data, not a setting: ``round(LR step / HR step)``, the same
for every area of a run. The ``geometry`` stage writes it, with every area's
steps, fields and spectral overlap, to ``results/geometry.json``; every later
stage takes the factor from there (``pairs.npz`` and the checkpoints carry it
on), so no module keeps its own.

Data contracts
--------------
A scan *header* (written by ``convert`` beside each scan's arrays, JSON) is
``{"shape": [rows, cols, channels], "pixel_size_um": [dy, dx] or null,
"wavenumbers": [...], "mean_spectrum": [...], "source": the file}``.

An area's geometry file (``results/geometry/{sample}/{area}.json``) is
``{sample, area, factor, lowres_step_um: [dy, dx], highres_step_um: [dy, dx],
ratio: [ry, rx], resample: bool, lowres_field_um, highres_field_um: [height,
width], channels: [first, stop] (the LR channels inside the spectral
overlap), lowres_shape, highres_shape: [rows, cols] (the HR one on the resampled grid when
resample)}``; ``geometry.json`` is ``{"factor": int, "areas": [those records]}``.
A field is ``(points - 1) * step`` along each axis, centre to centre.

Modules
-------
:mod:`~ramansr.geometry.steps`
    Pixel steps: the SR factor of an LR and an HR step, fields and resampled grids, the steps a
    model was trained on and the check of a scan to predict against them.
:mod:`~ramansr.geometry.spectral`
    The spectral axes of an area's two scans: their overlap, and a calibration shifted between them.
:mod:`~ramansr.geometry.areas`
    Scan headers, an area's geometry record, the run's one factor from every area's, and the
    ``area_geometry`` and ``geometry`` stages.

This module holds only what they share: :class:`GeometryError` and the messages' number formats.
"""

import numpy as np


class GeometryError(ValueError):
    """An area whose scans cannot be paired (the message names the area and the numbers)."""


def _um(values):
    return " x ".join(f"{v:g}" for v in np.atleast_1d(values)) + " um"


def _num(values):
    return " x ".join(f"{v:.3g}" for v in np.atleast_1d(values))
