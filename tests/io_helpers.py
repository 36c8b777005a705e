"""Variants of the real instrument files that the readers' tests share, made in a test's folder."""

import re
from pathlib import Path

import numpy as np
import pytest

#: The real instrument files every test reads (../shared/data beside the repository), named once here.
DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
REAL_EXPORT = DATA / "witec" / "P_A32_006_Spec.Data 1.mat"
RENISHAW = DATA / "renishaw" / "renishaw_test_streamline.wdf"
HORIBA = DATA / "horiba" / "jobinyvon_test_map_x3-y2.xml"
needs_real_data = pytest.mark.skipif(not DATA.exists(), reason=f"the real files are not at {DATA} (../shared absent)")
# the LabSpec .xml's spectral axis: its values, its name ('Spectr') and its unit
_HORIBA_AXIS = re.compile(
    r'(Size="34">)([^<]*)(</LSX>\s*<LSX Format="7" ID="0x6D707974">Spectr</LSX>\s*'
    r'<LSX Format="7" ID="0x7C696E75">)nm(</LSX>)'
)


def horiba_in_absolute_wavenumbers(folder, laser=True):
    """The real LabSpec map with its nm axis written as absolute wavenumbers ('1/cm abs'), as LabSpec can.

    ``laser=False`` also renames the laser line's entry, so that the file records no laser wavelength.
    """
    text = HORIBA.read_text(encoding="utf-8")

    def absolute(match):
        wavenumbers = 1e7 / np.array(match.group(2).split(), dtype=float)
        values = " ".join(f"{value:.4f}" for value in wavenumbers)
        return f"{match.group(1)}{values}{match.group(3)}1/cm abs{match.group(4)}"

    text, count = _HORIBA_AXIS.subn(absolute, text, count=1)
    assert count == 1, "the real file's spectral axis was not found"
    if not laser:
        text = text.replace(">Laser (nm)<", ">Unused (nm)<")
    path = folder / "absolute.xml"
    path.write_text(text, encoding="utf-8")
    return path


def as_time_series(root, caption, image_index=True, time_axis=True):
    """Make the TDGraph ``caption`` of a WITec tag tree a time series, as WITec Project FIVE writes one.

    ``image_index``: its TData ImageIndex becomes 5 (time); ``time_axis``: its SpaceTransformationID
    links a new TDLinearTransformation in seconds (UnitKind 3) instead of the space transformation.
    """
    from witio.tag import TYPE_BOOL, TYPE_DOUBLE, TYPE_INT32, TYPE_STRING, TYPE_TREE, WitTag

    def leaf(name, kind, value):
        return WitTag(name, kind, value if kind == TYPE_STRING else np.atleast_1d(value))

    data = root.find("Data")
    graph = next(
        data.find(tag.name.replace("DataClassName", "Data"))
        for tag in data.children
        if tag.name.startswith("DataClassName")
        and tag.data == "TDGraph"
        and data.find(tag.name.replace("DataClassName", "Data")).path("TData", "Caption").data == caption
    )
    if image_index:
        graph.path("TData", "ImageIndex").data = np.array([5], dtype=np.int32)
    if time_axis:
        count = int(data.find("NumberOfData").scalar())
        new_id = int(root.find("NextDataID").scalar())
        transformation = WitTag(
            f"Data {count}",
            TYPE_TREE,
            children=[
                WitTag(
                    "TData",
                    TYPE_TREE,
                    children=[
                        leaf("Version", TYPE_INT32, np.int32(0)),
                        leaf("ID", TYPE_INT32, np.int32(new_id)),
                        leaf("ImageIndex", TYPE_INT32, np.int32(0)),
                        leaf("Caption", TYPE_STRING, f"{caption}: Time"),
                    ],
                ),
                WitTag(
                    "TDTransformation",
                    TYPE_TREE,
                    children=[
                        leaf("Version", TYPE_INT32, np.int32(0)),
                        leaf("StandardUnit", TYPE_STRING, "s"),
                        leaf("UnitKind", TYPE_INT32, np.int32(3)),
                        leaf("InterpretationID", TYPE_INT32, np.int32(0)),
                        leaf("IsCalibrated", TYPE_BOOL, True),
                    ],
                ),
                WitTag(
                    "TDLinearTransformation",
                    TYPE_TREE,
                    children=[
                        leaf("Version", TYPE_INT32, np.int32(0)),
                        leaf("ModelOrigin_D", TYPE_DOUBLE, 0.0),
                        leaf("WorldOrigin_D", TYPE_DOUBLE, 0.0),
                        leaf("Scale_D", TYPE_DOUBLE, 0.5),  # one spectrum every 0.5 s
                    ],
                ),
            ],
        )
        for tag in (leaf(f"DataClassName {count}", TYPE_STRING, "TDLinearTransformation"), transformation):
            tag.parent = data
            data.children.insert(len(data.children) - 1, tag)  # before NumberOfData
        data.find("NumberOfData").data = np.array([count + 1], dtype=np.int32)
        root.find("NextDataID").data = np.array([new_id + 1], dtype=np.int32)
        graph.path("TDGraph", "SpaceTransformationID").data = np.array([new_id], dtype=np.int32)
