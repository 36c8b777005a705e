"""The reader's bad-input corpus: hostile or broken files of every format read_scan supports.

Each case builds a file, then asserts that read_scan raises the expected
exception naming the file and the problem, and that no input changed (hash
of every file in the case's folder before and after).
"""

import hashlib
import os
import struct
from pathlib import Path

import h5py
import numpy as np
import pytest
import scipy.io
from io_helpers import (
    DATA,
    HORIBA,
    REAL_EXPORT,
    RENISHAW,
    as_time_series,
    horiba_in_absolute_wavenumbers,
    needs_real_data,
)

from ramansr.io import (
    Scan,
    ScanFormatError,
    read_scan,
    read_scan_for_pipeline,
    write_scan,
    write_table,
)
from ramansr.io.mat_write import _write_v73
from ramansr.io.witec import not_a_map

WIP = DATA / "witec" / "LineScans.WIP"
WDF = RENISHAW
TABLE = DATA / "witec" / "Witec-Map_full.txt"
TABLE_BARE = DATA / "witec" / "Witec-Map_no.txt"
TABLE_P_A32 = DATA / "witec" / "P_A32_006_Spec.Data 1 (Table export).txt"
LINE_X = "LineX_000_Spec.Data 1"
ONE_LINE = {"variable": "LineX_000_Spec.Data 1"}


def small_scan(cube=None, channels=8):
    rng = np.random.default_rng(3)
    cube = rng.uniform(10, 1000, (4, 5, channels)).astype(np.float32) if cube is None else cube
    return Scan(cube, np.linspace(500.0, 1500.0, cube.shape[2]), (1.0, 1.0), "bad")


def cut(source, fraction):
    def build(folder):
        content = Path(source).read_bytes() if isinstance(source, Path) else source(folder).read_bytes()
        path = folder / f"cut{Path(source).suffix if isinstance(source, Path) else '.bin'}"
        path.write_bytes(content[: max(1, int(len(content) * fraction))])
        return path

    return build


def mat(scan_maker, v73=False, format="witec"):
    def build(folder):
        path = folder / "scan.mat"
        write_scan(scan_maker(), path, format=format, v73=v73)
        return path

    return build


def table(scan_maker, header=True):
    def build(folder):
        path = folder / "scan.txt"
        write_table(scan_maker(), path, header=header)
        return path

    return build


def raw(content, name="scan.dat"):
    def build(folder):
        path = folder / name
        path.write_bytes(content)
        return path

    return build


def edited_text(source, edit):
    def build(folder):
        path = folder / "edited.txt"
        path.write_text(edit(Path(source).read_text()))
        return path

    return build


def edit_row(line_number, change):
    def edit(text):
        lines = text.split("\n")
        lines[line_number - 1] = change(lines[line_number - 1])
        return "\n".join(lines)

    return edit


def edited_wip(change):
    """The real project with its tag tree changed (witio's own writer)."""

    def build(folder):
        from witio import tag

        magic, root = tag.read_file(WIP)
        change(root)
        path = folder / "edited.wip"
        path.write_bytes(tag.write_bytes(magic, root))
        return path

    return build


def _walk(node):
    yield node
    for child in node.children:
        yield from _walk(child)


def single_points(root):
    for node in _walk(root):
        if node.name in ("SizeX", "SizeY") and node.type:
            node.data = np.ones_like(node.data)


def nan_spectrum(root):
    for node in _walk(root):
        if node.name == "GraphData":
            data = node.find("Data")
            values = np.frombuffer(bytes(data.data), dtype="<f4").copy()
            values[5] = np.nan
            data.data = np.frombuffer(values.tobytes(), dtype="u1").copy()


def patched(source, offset, value, fmt="<Q"):
    """``source`` with ``value`` written at ``offset`` (a number, or a function of the file's bytes)."""

    def build(folder):
        content = bytearray(Path(source).read_bytes() if isinstance(source, Path) else source(folder).read_bytes())
        struct.pack_into(fmt, content, offset(content) if callable(offset) else offset, value)
        path = folder / f"patched{Path(source).suffix if isinstance(source, Path) else '.mat'}"
        path.write_bytes(bytes(content))
        return path

    return build


def time_series(**kinds):
    """LineX of the real project made a time series (see io_helpers.as_time_series)."""
    return lambda root: as_time_series(root, LINE_X, **kinds)


def wip_root_end_offset(content):
    (name_length,) = struct.unpack_from("<I", content, 8)
    return 8 + 4 + name_length + 4 + 8


def v73_dataset(declare):
    """A v7.3 file whose 'cube' dataset is created by ``declare(file)`` (hostile declared sizes)."""

    def build(folder):
        path = folder / "huge.mat"
        _write_v73(path, {"wavenumbers": np.linspace(500, 1500, 8)[np.newaxis]})
        with h5py.File(path, "r+") as file:
            declare(file).attrs["MATLAB_class"] = np.bytes_("single")
        return path

    return build


def transposed_v73(folder):
    """A WITec struct written to v7.3 without MATLAB's transpose of the data."""
    scan = small_scan()
    path = folder / "transposed.mat"
    write_scan(scan, path, v73=True)
    with h5py.File(path, "r+") as file:
        data = file["bad/data"][()]
        del file["bad/data"]
        file["bad"].create_dataset("data", data=data.T).attrs["MATLAB_class"] = np.bytes_("single")
    return path


def untransposed_v73_cube(folder):
    """A 64 x 9 x 64 cube with a 64-value axis stored as h5py stores a NumPy array: without MATLAB's transpose."""
    cube = np.random.default_rng(5).uniform(10, 1000, (64, 9, 64)).astype(np.float32)
    path = folder / "untransposed.mat"
    _write_v73(path, {"cube": cube, "wavenumbers": np.linspace(500, 1500, 64)[np.newaxis]})
    with h5py.File(path, "r+") as file:
        del file["cube"]
        file.create_dataset("cube", data=cube).attrs["MATLAB_class"] = np.bytes_("single")
    return path


def square_spectra_mat(folder):
    """8 x 8 pixels of 64 channels as 2-D spectra: either dimension could be the channels."""
    path = folder / "square.mat"
    spectra = np.random.default_rng(6).uniform(10, 1000, (64, 64))
    scipy.io.savemat(path, {"spectra": spectra, "wavenumbers": np.linspace(500, 1500, 64), "imagesize": [[8, 8]]})
    return path


def mat5_huge_element(folder):
    path = folder / "huge5.mat"
    scipy.io.savemat(path, {"cube": small_scan().cube, "wavenumbers": small_scan().wavenumbers})
    content = bytearray(path.read_bytes())
    struct.pack_into("<I", content, 132, 2**31)  # the first element declares 2 GiB
    path.write_bytes(bytes(content))
    return path


def complex_mat(folder):
    path = folder / "complex.mat"
    scipy.io.savemat(path, {"cube": small_scan().cube * (1 + 1j), "wavenumbers": small_scan().wavenumbers})
    return path


def nan_mat(folder):
    path = folder / "nan.mat"
    scipy.io.savemat(path, {"cube": MAT_NAN, "wavenumbers": small_scan().wavenumbers})
    return path


def with_cube(values):
    return lambda: small_scan(np.asarray(values, dtype=np.float32))


def mat_variables(variables, v73=False, name="scan.mat"):
    """A MATLAB file holding ``variables`` (level 5, or v7.3 through the package's own writer)."""

    def build(folder):
        path = folder / name
        _write_v73(path, variables) if v73 else scipy.io.savemat(path, variables)
        return path

    return build


def witec_struct(scan, **changes):
    """A minimal WITec export struct of ``scan`` (pixels along a scan line first); changes override fields."""
    rows, cols, channels = scan.cube.shape
    axisscale = np.empty((2, 2), dtype=object)
    axisscale[:] = [[np.zeros((0, 0)), ""], [scan.wavenumbers[np.newaxis], "rel. 1/cm"]]
    fields = {
        "type": "image",
        "imagesize": np.array([[cols, rows]], dtype=float),
        "data": np.ascontiguousarray(scan.cube).reshape(-1, channels),
        "axisscale": axisscale,
    }
    fields.update(changes)
    return fields


def witec_mat(v73=False, **changes):
    return lambda folder: mat_variables({"m": witec_struct(small_scan(), **changes)}, v73)(folder)


def witec_axis(axis):
    """A WITec export whose spectral axis is ``axis``."""

    def build(folder):
        struct = witec_struct(small_scan())
        struct["axisscale"][1, 0] = np.asarray(axis)[np.newaxis] if np.size(axis) else np.zeros((0, 0))
        return mat_variables({"m": struct})(folder)

    return build


def plain_mat(cube, axis=None, **more):
    """Plain MATLAB arrays: a cube and a wavenumber vector (the small scan's unless given)."""
    axis = small_scan().wavenumbers if axis is None else axis
    return mat_variables({"cube": cube, "wavenumbers": axis, **more})


def with_axis_value(index, value, source=None):
    axis = small_scan().wavenumbers.copy()
    axis[index] = axis[source] if source is not None else value
    return axis


def compressed_mat(folder):
    """MATLAB's default -v7 file: each variable compressed."""
    path = folder / "compressed.mat"
    scan = small_scan()
    scipy.io.savemat(path, {"cube": scan.cube, "wavenumbers": scan.wavenumbers}, do_compression=True)
    return path


def header_only(folder):
    path = mat(small_scan)(folder)
    path.write_bytes(path.read_bytes()[:60])
    return path


def corrupt_level5(folder):
    path = mat(small_scan)(folder)
    content = bytearray(path.read_bytes())
    content[128:132] = (99).to_bytes(4, "little")  # the first element's type
    path.write_bytes(bytes(content))
    return path


def corrupt_v73(folder):
    path = mat(small_scan, v73=True)(folder)
    content = bytearray(path.read_bytes())
    content[600:2000] = bytes(1400)  # HDF5 metadata after the superblock
    path.write_bytes(bytes(content))
    return path


def complex_v73(folder):
    """Complex data as MATLAB stores it in v7.3: a (real, imag) compound."""
    scan = small_scan()
    path = mat_variables({"wavenumbers": scan.wavenumbers[np.newaxis]}, v73=True, name="complex.mat")(folder)
    with h5py.File(path, "r+") as file:
        stored = np.empty(scan.cube.T.shape, dtype=[("real", "<f4"), ("imag", "<f4")])
        stored["real"] = stored["imag"] = scan.cube.T
        file.create_dataset("cube", data=stored).attrs["MATLAB_class"] = np.bytes_("single")
    return path


def three_non_finite():
    cube = small_scan().cube.copy()
    cube[2, 3, 4] = np.nan
    cube[3, 0, 1] = np.inf
    cube[3, 4, 0] = -np.inf
    return np.ascontiguousarray(cube).reshape(-1, cube.shape[2])


def beyond_float32():
    cube = small_scan().cube.astype(np.float64)
    cube[1, 1, 1] = 1e300
    return cube


MAT_NAN = small_scan().cube.copy()
MAT_NAN[1, 2, 3] = np.nan
ZERO = np.zeros((4, 5, 8))
CONSTANT = np.full((4, 5, 8), 7.0)
ONE_CHANNEL = np.random.default_rng(0).uniform(1, 2, (4, 5, 1))
ONE_PIXEL = np.random.default_rng(0).uniform(1, 2, (1, 1, 8))

# (id, builder, read_scan keyword arguments, exception, pattern in the message)
CASES = [
    ("empty", raw(b""), {}, ScanFormatError, "empty file"),
    ("text", raw(b"just some notes\nnothing else\n", "notes.txt"), {}, ScanFormatError, "unknown format"),
    ("garbage", raw(bytes(range(256)) * 8), {}, ScanFormatError, "unknown format"),
    ("nul-bytes", raw(bytes(4096), "zeros.wdf"), {}, ScanFormatError, "unknown format"),
    # MATLAB level 5 and v7.3
    *[(f"mat5-cut-{f}", cut(mat(small_scan), f), {}, ScanFormatError, "truncated") for f in (0.05, 0.3, 0.7, 0.95)],
    *[
        (f"v73-cut-{f}", cut(mat(small_scan, v73=True), f), {}, ScanFormatError, "truncated|corrupt")
        for f in (0.05, 0.3, 0.7, 0.95)
    ],
    ("mat5-nan", nan_mat, {}, ScanFormatError, "1 NaN or inf"),
    ("mat5-complex", complex_mat, {}, ScanFormatError, "complex data"),
    ("mat5-zero", mat(with_cube(ZERO)), {}, ScanFormatError, "every value is 0: a blank scan"),
    ("v73-constant", mat(with_cube(CONSTANT), v73=True), {}, ScanFormatError, "every value is 7: a constant"),
    ("mat5-one-channel", mat(with_cube(ONE_CHANNEL), format="plain"), {}, ScanFormatError, "1 channel"),
    ("v73-one-pixel", mat(with_cube(ONE_PIXEL), v73=True), {}, ScanFormatError, r"single spectrum \(1 x 1"),
    ("v73-transposed", transposed_v73, {}, ScanFormatError, "data size does not match imagesize"),
    (
        "v73-channels-first-or-last",
        untransposed_v73_cube,
        {},
        ScanFormatError,
        r"cube is 64 x 9 x 64 .*both its first and its last dimension match the 64-value .*level-5",
    ),
    ("mat5-square-spectra", square_spectra_mat, {}, ScanFormatError, "64 x 64 .*either dimension may be the channels"),
    ("v73-over-limit", mat(small_scan, v73=True), {"max_bytes": 100}, ScanFormatError, "more than the limit"),
    (
        "v73-declares-191-GiB",
        v73_dataset(lambda f: f.create_dataset("cube", shape=(2**16, 2**16, 12), dtype="<f4", chunks=(64, 64, 12))),
        {},
        ScanFormatError,
        "more than the limit",
    ),
    (
        "v73-declares-6-GB-unstored",
        v73_dataset(lambda f: f.create_dataset("cube", shape=(1000, 1000, 1500), dtype="<f4", chunks=(100, 100, 15))),
        {},
        ScanFormatError,
        "the file stores 0",
    ),
    (
        "v73-contiguous-unallocated",
        v73_dataset(lambda f: f.create_dataset("cube", shape=(200, 200, 8), dtype="<f4")),
        {},
        ScanFormatError,
        "beyond the file",
    ),
    ("mat5-huge-element", mat5_huge_element, {}, ScanFormatError, "truncated"),
    ("mat-absent", lambda folder: folder / "absent.mat", {}, FileNotFoundError, "absent.mat"),
    *[
        (f"mat-named-{kind}", raw(content, "spectra.mat"), {}, ScanFormatError, "not a MATLAB file")
        for kind, content in (
            ("empty", b""),
            ("text", b"hello, not a MATLAB file\n" * 20),
            ("png", b"\x89PNG\r\n" + bytes(300)),
        )
    ],
    *[(f"mat5-compressed-cut-{f}", cut(compressed_mat, f), {}, ScanFormatError, "truncated") for f in (0.1, 0.5, 0.9)],
    ("mat5-header-only", header_only, {}, ScanFormatError, "truncated"),
    *[(f"real-export-cut-{f}", cut(REAL_EXPORT, f), {}, ScanFormatError, "truncated") for f in (0.1, 0.5, 0.9)],
    ("mat5-corrupt-element-type", corrupt_level5, {}, ScanFormatError, "corrupt"),
    ("v73-corrupt-metadata", corrupt_v73, {}, ScanFormatError, "corrupt"),
    (
        "mat5-no-spectral-array",
        mat_variables({"wavenumbers": np.arange(5.0), "comment": "no data"}),
        {},
        ScanFormatError,
        "no spectral array(?=.*wavenumbers)(?=.*comment)",
    ),
    ("mat5-no-axis", mat_variables({"cube": small_scan().cube}), {}, ScanFormatError, "no wavenumber axis"),
    ("mat5-empty-axis", witec_axis([]), {}, ScanFormatError, "no wavenumber axis"),
    *[
        (
            f"{kind}-imagesize-mismatch",
            witec_mat(v73=kind == "v73", imagesize=np.array([[6, 4]], dtype=float)),
            {},
            ScanFormatError,
            "data size does not match imagesize(?=.*20)(?=.*24)",
        )
        for kind in ("mat5", "v73")
    ],
    (
        "mat5-plain-2d-imagesize-mismatch",
        mat_variables(
            {
                "spectra": small_scan().cube.reshape(20, 8),
                "wavenumbers": small_scan().wavenumbers,
                "imagesize": np.array([[5, 6]]),
            }
        ),
        {},
        ScanFormatError,
        "data size does not match imagesize",
    ),
    ("mat5-witec-axis-short", witec_axis(small_scan().wavenumbers[:-1]), {}, ScanFormatError, "axis length 7 does"),
    (
        "mat5-plain-axis-short",
        plain_mat(small_scan().cube, small_scan().wavenumbers[:-1]),
        {},
        ScanFormatError,
        "axis length 7 does not match the channel count 8",
    ),
    (
        "mat5-axis-swapped",
        plain_mat(small_scan().cube, small_scan().wavenumbers[[0, 1, 2, 4, 3, 5, 6, 7]]),
        {},
        ScanFormatError,
        "not strictly monotonic",
    ),
    ("mat5-axis-repeated", plain_mat(small_scan().cube, with_axis_value(6, None, 5)), {}, ScanFormatError, "monotonic"),
    ("mat5-axis-nan", plain_mat(small_scan().cube, with_axis_value(2, np.nan)), {}, ScanFormatError, "NaN or inf"),
    *[
        (
            f"{kind}-three-non-finite",
            witec_mat(v73=kind == "v73", data=three_non_finite()),
            {},
            ScanFormatError,
            "3 NaN or inf values.*row 2, col 3, channel 4",  # the first in (row, col, channel) order
        )
        for kind in ("mat5", "v73")
    ],
    ("mat5-beyond-float32", plain_mat(beyond_float32()), {}, ScanFormatError, "1 NaN or inf.*beyond float32 range"),
    *[
        (f"mat5-empty-{kind}", builder, {}, ScanFormatError, "empty array")
        for kind, builder in (
            ("witec", witec_mat(data=np.zeros((0, 8), np.float32))),
            ("plain-3d", plain_mat(np.zeros((0, 5, 8)))),
            ("plain-2d", mat_variables({"spectra": np.zeros((0, 0)), "wavenumbers": small_scan().wavenumbers})),
        )
    ],
    ("v73-complex", complex_v73, {}, ScanFormatError, "complex data"),
    # WITec project
    *[(f"wip-cut-{f}", cut(WIP, f), ONE_LINE, ScanFormatError, "truncated") for f in (0.00002, 0.001, 0.3, 0.99)],
    ("wip-no-map", edited_wip(single_points), {}, ScanFormatError, "no spectral map.*TDGraph"),
    ("wip-nan", edited_wip(nan_spectrum), ONE_LINE, ScanFormatError, "1 NaN or inf"),
    ("wip-huge-root", patched(WIP, wip_root_end_offset, 2**60), ONE_LINE, ScanFormatError, "truncated"),
    ("wip-unknown-map", lambda folder: WIP, {"variable": "Map"}, ScanFormatError, "LineY_000_Spec.Data 1"),
    (
        "wip-time-series",
        edited_wip(time_series()),
        {"variable": LINE_X},
        ScanFormatError,
        rf"object '{LINE_X}' is a time series \(TDGraph ImageIndex 5\), not a spatial map",
    ),
    (
        "wip-time-axis",
        edited_wip(time_series(image_index=False)),
        {"variable": LINE_X},
        ScanFormatError,
        "is a time series .its positions are a TDLinearTransformation in seconds., not a spatial map",
    ),
    # WITec Table export
    *[(f"table-cut-{f}", cut(TABLE, f), {}, ScanFormatError, "truncated|ragged") for f in (0.001, 0.3, 0.7, 0.9995)],
    (
        "table-ragged",
        edited_text(TABLE, edit_row(40, lambda line: line + "\t1.0")),
        {},
        ScanFormatError,
        "line 40 has 27 columns, expected 26",
    ),
    (
        "table-short-row",
        edited_text(TABLE, edit_row(41, lambda line: line.rsplit("\t", 1)[0])),
        {},
        ScanFormatError,
        "line 41 has 25 columns",
    ),
    (
        "table-non-numeric",
        edited_text(TABLE, edit_row(100, lambda line: line.replace("\t", "\tabc", 1))),
        {},
        ScanFormatError,
        "line 100, column 2: 'abc.* is not a number",
    ),
    (
        "table-nan",
        edited_text(TABLE, edit_row(50, lambda line: line.rsplit("\t", 1)[0] + "\tNaN")),
        {},
        ScanFormatError,
        "1 NaN or inf",
    ),
    (
        "table-inf",
        edited_text(TABLE, edit_row(51, lambda line: line.rsplit("\t", 1)[0] + "\tinf")),
        {},
        ScanFormatError,
        "1 NaN or inf",
    ),
    (
        "table-shifted-axis",
        edited_text(TABLE, edit_row(60, lambda line: " 9.0E+01" + line[line.index("\t") :])),
        {},
        ScanFormatError,
        "not strictly monotonic",
    ),
    (
        "table-duplicate-point",
        edited_text(TABLE, lambda text: text.replace("F(4/4)", "F(3/4)", 1)),
        {},
        ScanFormatError,
        "do not cover a",
    ),
    ("table-no-header-no-shape", table(small_scan, header=False), {}, ScanFormatError, "image_shape"),
    (
        "table-no-header-square-grid",
        lambda folder: TABLE_BARE,
        {"image_shape": (5, 5)},
        ScanFormatError,
        r"order of its 25 point columns cannot be told .*square grid.*'5 x 5, y fastest'",
    ),
    (
        "table-no-header-no-structure",
        table(small_scan, header=False),
        {"image_shape": (4, 5)},
        ScanFormatError,
        "cannot be told from the data .neither order gives a clearly smoother image",
    ),
    (
        "table-no-header-nan",
        edited_text(TABLE_P_A32, edit_row(30, lambda line: line.rsplit("\t", 1)[0] + "\tNaN")),
        {"image_shape": (16, 17)},
        ScanFormatError,
        "1 NaN or inf values in the data; first at line 30, column 273",
    ),
    ("table-unknown-order", lambda folder: TABLE_BARE, {"image_shape": (5, 5, "z fastest")}, ScanFormatError, "order"),
    (
        "table-units-in-nm",
        edited_text(TABLE, edit_row(2, lambda line: "nm" + line[line.index("\t") :])),
        {},
        ScanFormatError,
        r"line 2 \(units\): the axis is in 'nm', not Raman shift",
    ),
    ("table-zero", table(with_cube(ZERO)), {}, ScanFormatError, "blank scan"),
    ("table-one-channel", table(with_cube(ONE_CHANNEL)), {}, ScanFormatError, "1 channel"),
    ("table-one-pixel", table(with_cube(ONE_PIXEL)), {}, ScanFormatError, "single spectrum"),
    # Renishaw and Horiba through rosettasciio
    *[
        (f"wdf-cut-{f}", cut(WDF, f), {}, ScanFormatError, "truncated or corrupt renishaw")
        for f in (0.001, 0.3, 0.7, 0.999)
    ],
    (
        "wdf-garbage-after-magic",
        raw(b"WDF1" + bytes(range(256)) * 4, "g.wdf"),
        {},
        ScanFormatError,
        "truncated or corrupt renishaw",
    ),
    *[(f"xml-cut-{f}", cut(HORIBA, f), {}, ScanFormatError, "truncated or corrupt horiba") for f in (0.1, 0.5, 0.99)],
    ("xml-no-data", raw(b'<?xml version="1.0"?>\n<LSX_Data></LSX_Data>\n', "empty.xml"), {}, ScanFormatError, "horiba"),
    (
        "xml-absolute-axis-no-laser",
        lambda folder: horiba_in_absolute_wavenumbers(folder, laser=False),
        {},
        ScanFormatError,
        r"absolute wavenumbers \(1/cm abs\) but no laser wavelength",
    ),
]


def fingerprint(folder):
    return {path.name: hashlib.sha256(path.read_bytes()).hexdigest() for path in sorted(folder.iterdir())}


@needs_real_data
@pytest.mark.parametrize(
    ("builder", "kwargs", "error", "pattern"), [case[1:] for case in CASES], ids=[case[0] for case in CASES]
)
def test_bad_input_is_refused_naming_the_file(tmp_path, builder, kwargs, error, pattern):
    path = builder(tmp_path)
    before = fingerprint(path.parent)
    with pytest.raises(error, match=pattern) as caught:
        read_scan(path, **kwargs)
    assert str(path) in str(caught.value)
    assert fingerprint(path.parent) == before


def test_a_directory_is_refused_naming_it(tmp_path):
    with pytest.raises(ScanFormatError, match=r"cannot read the file.*IsADirectoryError") as caught:
        read_scan(tmp_path)
    assert str(tmp_path) in str(caught.value) and isinstance(caught.value.__cause__, IsADirectoryError)


def test_a_symlink_loop_is_refused_naming_it(tmp_path):
    loop = tmp_path / "loop.mat"
    loop.symlink_to(tmp_path / "other.mat")
    (tmp_path / "other.mat").symlink_to(loop)
    with pytest.raises(ScanFormatError, match="cannot read the file") as caught:
        read_scan(loop)
    assert str(loop) in str(caught.value) and isinstance(caught.value.__cause__, OSError)


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files without read permission")
def test_an_unreadable_file_is_refused_naming_it(tmp_path):
    path = tmp_path / "secret.mat"
    write_scan(small_scan(), path)
    path.chmod(0)
    with pytest.raises(ScanFormatError, match=r"cannot read the file.*PermissionError") as caught:
        read_scan(path)
    assert str(path) in str(caught.value) and isinstance(caught.value.__cause__, PermissionError)


def test_the_pipeline_names_its_config_key_and_sheet_column(tmp_path):
    path = tmp_path / "two.mat"
    scipy.io.savemat(
        path, {"raw": small_scan().cube, "smoothed": small_scan().cube * 2, "wavenumbers": small_scan().wavenumbers}
    )
    with pytest.raises(ScanFormatError, match=r"pick one with mat_variable: in config.yaml"):
        read_scan_for_pipeline(path, None, None, "lowres")
    bare = tmp_path / "bare.txt"
    write_table(small_scan(), bare, header=False)
    with pytest.raises(ScanFormatError, match="samples sheet column highres_shape"):
        read_scan_for_pipeline(bare, None, None, "highres")
    with pytest.raises(ScanFormatError, match="highres_shape: image shape '4 by 5'"):
        read_scan_for_pipeline(bare, None, "4 by 5", "highres")
    with pytest.raises(
        ScanFormatError, match=r"cannot be told from the data .*\(the samples sheet column highres_shape"
    ):
        read_scan_for_pipeline(bare, None, "4 x 5", "highres")
    assert read_scan_for_pipeline(bare, None, "4 x 5, x fastest", "highres").cube.shape == (4, 5, 8)


def test_a_missing_file_stays_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        read_scan(tmp_path / "absent.wdf")


def test_a_time_series_is_told_from_a_line_by_its_kind_or_its_time_axis():
    """witio's objects of the real project, LineX made a time series in memory in each of the two ways."""
    import witio
    from witio import tag

    for kinds, reason in (
        ({"time_axis": False}, "a time series (TDGraph ImageIndex 5)"),
        ({"image_index": False}, "a time series (its positions are a TDLinearTransformation in seconds)"),
    ):
        magic, root = tag.read_file(WIP)
        as_time_series(root, LINE_X, **kinds)
        project = witio.WitProject(magic, root)
        assert {graph.caption: not_a_map(graph) for graph in project.find(class_name="TDGraph")} == {
            LINE_X: reason,
            "LineY_000_Spec.Data 1": None,
        }


def test_a_project_whose_other_map_is_a_time_series_reads_its_line_scan(tmp_path):
    path = edited_wip(time_series())(tmp_path)
    scan = read_scan(path)  # no longer ambiguous: one map left
    assert scan.meta["object"] == "LineY_000_Spec.Data 1" and scan.meta["candidates"] == ["LineY_000_Spec.Data 1"]
