"""Tests for ramansr.io: formats, round trips, the real WITec export and bad input."""

import hashlib
import itertools
from pathlib import Path

import numpy as np
import pytest
import scipy.io
from io_helpers import REAL_EXPORT, needs_real_data

from ramansr.io import RowBlocks, Scan, ScanFormatError, mat_write, read_scan, write_scan
from ramansr.io.mat_write import (
    _write_v73,  # crafts arbitrary v7.3 files (2-D spectra, bad input)
)

ROWS, COLS, CHANNELS = 5, 7, 11


@pytest.fixture
def scan():
    rng = np.random.default_rng(0)
    cube = rng.uniform(100, 1000, (ROWS, COLS, CHANNELS)).astype(np.float32)
    wavenumbers = np.linspace(400.0, 3200.0, CHANNELS)
    return Scan(cube, wavenumbers, pixel_size_um=(0.5, 0.25), name="cell 1.a")


def sha256(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def spectra_in_export_order(cube):
    """(pixels, channels), pixels running along a scan line first."""
    return np.ascontiguousarray(cube).reshape(-1, cube.shape[2])


def assert_error(path, match, **kwargs):
    """read_scan must raise ScanFormatError naming the file and the problem."""
    with pytest.raises(ScanFormatError, match=match) as caught:
        read_scan(path, **kwargs)
    assert Path(path).name in str(caught.value)
    return str(caught.value)


# ----------------------------------------------------------------------------- round trips


@pytest.mark.parametrize("v73", [False, True], ids=["mat5", "v7.3"])
@pytest.mark.parametrize("format", ["witec", "plain"])
def test_round_trip_gives_back_cube_axis_and_pixel_size(tmp_path, scan, format, v73):
    path = tmp_path / "scan.mat"
    write_scan(scan, path, format=format, v73=v73)
    back = read_scan(path)
    assert back.cube.dtype == np.float32 and back.cube.shape == (ROWS, COLS, CHANNELS)
    np.testing.assert_array_equal(back.cube, scan.cube)
    np.testing.assert_array_equal(back.wavenumbers, scan.wavenumbers)
    assert back.wavenumbers.dtype == np.float64
    assert back.pixel_size_um == pytest.approx(scan.pixel_size_um, rel=1e-12)
    assert back.name == "cell 1.a"
    assert back.meta["format"] == format
    assert back.meta["container"] == ("mat7.3" if v73 else "mat5")
    assert list(tmp_path.iterdir()) == [path]  # no temporary file left behind


@pytest.mark.parametrize("format", ["witec", "plain"])
def test_a_v73_cube_written_in_pieces_is_the_cube_written_whole(tmp_path, scan, format, monkeypatch):
    write_scan(scan, tmp_path / "whole.mat", format=format, v73=True)
    monkeypatch.setattr(mat_write, "H5_WRITE_BLOCK_BYTES", 3)  # a row of the stored array per piece
    write_scan(scan, tmp_path / "pieces.mat", format=format, v73=True)
    assert (tmp_path / "pieces.mat").read_bytes() == (tmp_path / "whole.mat").read_bytes()
    np.testing.assert_array_equal(read_scan(tmp_path / "pieces.mat").cube, scan.cube)


def row_blocks(cube, sizes):
    """``cube`` as RowBlocks of the given row counts."""
    starts = np.cumsum([0, *sizes])
    return RowBlocks(cube.shape, lambda: (cube[a:b] for a, b in itertools.pairwise(starts)))


@pytest.mark.parametrize("v73", [False, True], ids=["mat5", "v7.3"])
@pytest.mark.parametrize("format", ["witec", "plain"])
def test_a_cube_given_in_row_blocks_is_written_as_the_whole_cube(tmp_path, scan, format, v73):
    write_scan(scan, tmp_path / "whole.mat", format=format, v73=v73)
    blocks = Scan(row_blocks(scan.cube, [2, 1, 2]), scan.wavenumbers, scan.pixel_size_um, scan.name)
    assert isinstance(blocks.cube, RowBlocks)  # kept as it is, not made whole
    write_scan(blocks, tmp_path / "blocks.mat", format=format, v73=v73)
    assert (tmp_path / "blocks.mat").read_bytes() == (tmp_path / "whole.mat").read_bytes()


def test_a_large_cube_in_row_blocks_goes_to_v73_where_an_array_stays_level_5(tmp_path, scan, monkeypatch):
    monkeypatch.setattr(mat_write, "MAT5_MAX_ROW_BLOCKS_BYTES", scan.cube.nbytes - 1)
    write_scan(scan, tmp_path / "array.mat")
    write_scan(Scan(row_blocks(scan.cube, [5]), scan.wavenumbers, name=scan.name), tmp_path / "blocks.mat")
    assert read_scan(tmp_path / "array.mat").meta["container"] == "mat5"
    back = read_scan(tmp_path / "blocks.mat")
    assert back.meta["container"] == "mat7.3"
    np.testing.assert_array_equal(back.cube, scan.cube)


def test_a_bad_value_in_a_later_row_block_names_the_file_and_its_row(tmp_path, scan):
    scan.cube[3, 4, 2] = np.nan
    blocks = Scan(row_blocks(scan.cube, [2, 3]), scan.wavenumbers, scan.pixel_size_um, scan.name)
    path = tmp_path / "blocks.mat"
    with pytest.raises(ScanFormatError, match=r"blocks\.mat.*NaN or inf.*row 3, col 4, channel 2"):
        write_scan(blocks, path, v73=True)
    assert list(tmp_path.iterdir()) == []  # nothing half-written left


def test_row_blocks_that_do_not_make_the_cube_are_refused(scan):
    with pytest.raises(ValueError, match="end at row 4, the cube has 5"):
        RowBlocks(scan.cube.shape, lambda: iter([scan.cube[:2], scan.cube[2:4]])).whole()
    with pytest.raises(ValueError, match="does not fit"):
        RowBlocks(scan.cube.shape, lambda: iter([scan.cube[:, :3]])).whole()


@pytest.mark.parametrize("v73", [False, True], ids=["mat5", "v7.3"])
@pytest.mark.parametrize("format", ["witec", "plain"])
def test_unknown_pixel_size_stays_unknown(tmp_path, scan, format, v73):
    scan.pixel_size_um = None
    write_scan(scan, tmp_path / "scan.mat", format=format, v73=v73)
    assert read_scan(tmp_path / "scan.mat").pixel_size_um is None


@pytest.mark.parametrize("v73", [False, True], ids=["mat5", "v7.3"])
@pytest.mark.parametrize("format", ["witec", "plain"])
def test_writing_is_reproducible(tmp_path, scan, format, v73):
    """The same scan gives the same bytes (no creation time in the file)."""
    write_scan(scan, tmp_path / "first.mat", format=format, v73=v73)
    write_scan(scan, tmp_path / "second.mat", format=format, v73=v73)
    assert (tmp_path / "first.mat").read_bytes() == (tmp_path / "second.mat").read_bytes()
    assert (tmp_path / "first.mat").read_bytes().startswith(b"MATLAB")


@pytest.mark.parametrize("date", ["2024-01-01T09:00:00", [2024, 1, 1, 9, 0, 0]], ids=["iso", "clock"])
def test_date_is_written_as_matlab_clock_and_read_as_iso(tmp_path, scan, date):
    scan.meta["date"] = date
    write_scan(scan, tmp_path / "scan.mat")
    dataset = scipy.io.loadmat(tmp_path / "scan.mat", squeeze_me=True, struct_as_record=False)["cell_1a"]
    np.testing.assert_array_equal(dataset.date, [2024, 1, 1, 9, 0, 0])
    assert read_scan(tmp_path / "scan.mat").meta["date"] == "2024-01-01T09:00:00"


def test_write_replaces_an_existing_file(tmp_path, scan):
    path = tmp_path / "scan.mat"
    path.write_text("old")
    write_scan(scan, path, format="plain")
    np.testing.assert_array_equal(read_scan(path).cube, scan.cube)


def test_witec_writer_matches_the_export_layout(tmp_path, scan):
    """A reader following the export's README gets the same image back."""
    path = tmp_path / "scan.mat"
    write_scan(scan, path, format="witec")
    variables = scipy.io.loadmat(path, squeeze_me=True, struct_as_record=False)
    (name,) = [key for key in variables if not key.startswith("__")]
    assert name == "cell_1a"  # dots dropped, other characters replaced, as the export does
    dataset = variables[name]
    assert dataset.type == "image" and dataset.name == "cell 1.a"
    assert list(dataset.imagesize) == [COLS, ROWS]
    assert dataset.data.dtype == np.float32 and dataset.data.shape == (ROWS * COLS, CHANNELS)
    image = dataset.data.reshape(dataset.imagesize[1], dataset.imagesize[0], -1)
    np.testing.assert_array_equal(image, scan.cube)
    np.testing.assert_array_equal(dataset.axisscale[1, 0], scan.wavenumbers)
    assert dataset.axisscale[1, 1] == "rel. 1/cm"
    np.testing.assert_allclose(np.diff(dataset.imageaxisscale[0, 0]), 0.25)  # x: along a line
    np.testing.assert_allclose(np.diff(dataset.imageaxisscale[1, 0]), 0.5)  # y: across lines
    assert dataset.imageaxisscale[0, 1] == "µm"
    assert scipy.io.loadmat(path)[name].classname == "dataset"


def test_v73_file_has_matlab_header_and_classes(tmp_path, scan):
    import h5py

    path = tmp_path / "scan.mat"
    write_scan(scan, path, format="witec", v73=True)
    header = path.read_bytes()[:128]
    assert header.startswith(b"MATLAB 7.3 MAT-file") and header[124:128] == b"\x00\x02IM"
    assert scipy.io.matlab.matfile_version(path) == (2, 0)
    with h5py.File(path, "r") as file:
        group = file["cell_1a"]
        assert group.attrs["MATLAB_class"] == b"struct"
        assert group["data"].shape == (CHANNELS, ROWS * COLS)  # MATLAB's column-major, transposed
        assert group["data"].attrs["MATLAB_class"] == b"single"
        assert group["axisscale"].attrs["MATLAB_class"] == b"cell"


@pytest.mark.parametrize("v73", [False, True], ids=["mat5", "v7.3"])
@pytest.mark.parametrize("orientation", ["pixels x channels", "channels x pixels"])
def test_plain_2d_spectra_in_either_orientation(tmp_path, scan, orientation, v73):
    spectra = spectra_in_export_order(scan.cube)
    if orientation == "channels x pixels":
        spectra = spectra.T
    variables = {
        "spectra": spectra,
        "wavenumber": scan.wavenumbers[np.newaxis],
        "imagesize": np.array([[COLS, ROWS]], dtype=np.float64),
    }
    path = tmp_path / "plain.mat"
    _write_v73(path, variables) if v73 else scipy.io.savemat(path, variables)
    back = read_scan(path)
    np.testing.assert_array_equal(back.cube, scan.cube)
    np.testing.assert_array_equal(back.wavenumbers, scan.wavenumbers)
    assert back.meta["layout"] == orientation
    assert back.pixel_size_um is None and back.name == "spectra"


def test_plain_2d_image_shape_argument(tmp_path, scan):
    path = tmp_path / "plain.mat"
    scipy.io.savemat(path, {"X": spectra_in_export_order(scan.cube), "axis": scan.wavenumbers})
    np.testing.assert_array_equal(read_scan(path, image_shape=(ROWS, COLS)).cube, scan.cube)
    assert_error(path, "image shape", variable="X")


def test_plain_2d_spectra_in_a_stated_pixel_order(tmp_path, scan):
    path = tmp_path / "plain.mat"
    down_columns = np.ascontiguousarray(scan.cube.transpose(1, 0, 2)).reshape(-1, CHANNELS)
    scipy.io.savemat(path, {"X": down_columns, "axis": scan.wavenumbers})
    np.testing.assert_array_equal(read_scan(path, image_shape=(ROWS, COLS, "y fastest")).cube, scan.cube)


def test_a_v73_cube_whose_channels_may_come_first_is_refused(tmp_path):
    """MATLAB stores v7.3 arrays transposed; one stored without (h5py) reads with its channels first."""
    rng = np.random.default_rng(4)
    wavenumbers = np.linspace(500.0, 1500.0, 64)
    cube = rng.uniform(10, 1000, (64, 9, 64)).astype(np.float32)  # as many rows as channels
    _write_v73(tmp_path / "v73.mat", {"cube": cube, "wavenumbers": wavenumbers[np.newaxis]})
    message = assert_error(tmp_path / "v73.mat", "cube is 64 x 9 x 64 .*both its first and its last dimension match")
    assert "MATLAB save -v7" in message
    scipy.io.savemat(tmp_path / "level5.mat", {"cube": cube, "wavenumbers": wavenumbers})  # keeps the dimensions
    np.testing.assert_array_equal(read_scan(tmp_path / "level5.mat").cube, cube)
    channels_first = rng.uniform(10, 1000, (64, 9, 10)).astype(np.float32)
    _write_v73(tmp_path / "first.mat", {"cube": channels_first, "wavenumbers": wavenumbers[np.newaxis]})
    assert_error(tmp_path / "first.mat", "cube is 64 x 9 x 10 .*its first dimension matches")


def test_plain_cube_in_float64_and_integers_becomes_float32(tmp_path, scan):
    path = tmp_path / "plain.mat"
    counts = np.round(scan.cube).astype(np.uint16)
    scipy.io.savemat(path, {"counts": counts, "wavenumbers": scan.wavenumbers})
    back = read_scan(path)
    assert back.cube.dtype == np.float32 and back.meta["original_dtype"] == "uint16"
    np.testing.assert_array_equal(back.cube, counts)


def test_ambiguous_file_lists_candidates_and_variable_picks(tmp_path, scan):
    path = tmp_path / "two.mat"
    scipy.io.savemat(path, {"raw": scan.cube, "smoothed": scan.cube * 2, "wavenumbers": scan.wavenumbers})
    message = assert_error(path, "ambiguous")
    assert "raw" in message and "smoothed" in message
    np.testing.assert_array_equal(read_scan(path, variable="smoothed").cube, scan.cube * 2)
    assert_error(path, "no variable 'other'", variable="other")


def test_decreasing_axis_is_kept(tmp_path, scan):
    path = tmp_path / "plain.mat"
    scipy.io.savemat(path, {"cube": scan.cube, "x": scan.wavenumbers[::-1]})
    np.testing.assert_array_equal(read_scan(path).wavenumbers, scan.wavenumbers[::-1])


def test_reading_leaves_the_file_unchanged(tmp_path, scan):
    for v73 in (False, True):
        path = tmp_path / f"scan{v73}.mat"
        write_scan(scan, path, v73=v73)
        before = sha256(path), path.stat().st_mtime_ns
        read_scan(path)
        assert (sha256(path), path.stat().st_mtime_ns) == before


# ----------------------------------------------------------------------------- the real export


def band_roughness(image):
    """Mean absolute difference between neighbouring pixels, both directions."""
    return (np.abs(np.diff(image, axis=0)).mean() + np.abs(np.diff(image, axis=1)).mean()) / 2


@needs_real_data
def test_real_export_shape_axis_and_pixel_size():
    scan = read_scan(REAL_EXPORT)
    raw = scipy.io.loadmat(REAL_EXPORT, squeeze_me=True, struct_as_record=False)["P_A32_006_SpecData_1"]
    assert scan.cube.shape == (16, 17, 1024) and scan.cube.dtype == np.float32
    np.testing.assert_array_equal(scan.wavenumbers, raw.axisscale[1, 0])
    assert np.all(np.diff(scan.wavenumbers) > 0)
    assert 20 < scan.wavenumbers[0] < 40 and 3880 < scan.wavenumbers[-1] < 3900
    dy, dx = scan.pixel_size_um
    assert dx == pytest.approx(np.diff(raw.imageaxisscale[0, 0]).mean(), rel=1e-6)
    assert dy == pytest.approx(np.diff(raw.imageaxisscale[1, 0]).mean(), rel=1e-6)
    assert 0.7 < dy < 0.8 and 0.7 < dx < 0.8
    assert scan.name == "P_A32_006_Spec.Data 1"
    assert scan.meta["format"] == "witec" and scan.meta["matlab_class"] == "dataset"
    assert scan.meta["date"] == "2015-01-15T12:54:42"


@needs_real_data
def test_real_export_is_unsheared():
    """The CH-stretch image of the reader's cube is smoother than any sheared reshape."""
    scan = read_scan(REAL_EXPORT)
    data = scipy.io.loadmat(REAL_EXPORT, squeeze_me=True, struct_as_record=False)["P_A32_006_SpecData_1"].data
    ch_band = np.abs(scan.wavenumbers - 2930) < 30
    ours = band_roughness(scan.cube[:, :, ch_band].mean(axis=2))
    for shape, order in (((17, 16), "C"), ((16, 17), "F")):
        sheared = data.reshape(*shape, -1, order=order)[:, :, ch_band].mean(axis=2)
        assert ours < 0.85 * band_roughness(sheared), (shape, order)


@needs_real_data
@pytest.mark.parametrize("v73", [False, True], ids=["mat5", "v7.3"])
def test_real_export_round_trip(tmp_path, v73):
    scan = read_scan(REAL_EXPORT)
    write_scan(scan, tmp_path / "copy.mat", v73=v73)
    back = read_scan(tmp_path / "copy.mat")
    np.testing.assert_array_equal(back.cube, scan.cube)
    np.testing.assert_array_equal(back.wavenumbers, scan.wavenumbers)
    assert back.pixel_size_um == pytest.approx(scan.pixel_size_um)
    assert back.meta["date"] == scan.meta["date"]  # the measurement time travels with the scan


# ----------------------------------------------------------------------------- bad input
# Files read_scan refuses are one table, tests/test_bad_inputs_io.py; here what the writer refuses.


def test_a_compressed_level5_file_reads(tmp_path, scan):
    """MATLAB's default -v7 files compress each variable (cut ones: tests/test_bad_inputs_io.py)."""
    whole = tmp_path / "whole.mat"
    scipy.io.savemat(whole, {"cube": scan.cube, "wavenumbers": scan.wavenumbers}, do_compression=True)
    np.testing.assert_array_equal(read_scan(whole).cube, scan.cube)


def test_huge_finite_values_are_kept(tmp_path, scan):
    """Finite data whose float32 sum overflows is still valid."""
    scan.cube[0, 0, :2] = 3e38
    write_scan(scan, tmp_path / "huge.mat", format="plain")
    np.testing.assert_array_equal(read_scan(tmp_path / "huge.mat").cube, scan.cube)


def test_write_refuses_non_finite_cube(tmp_path, scan):
    scan.cube[0, 0, 0] = np.nan
    with pytest.raises(ScanFormatError, match="1 NaN or inf"):
        write_scan(scan, tmp_path / "bad.mat")
    assert list(tmp_path.iterdir()) == []


def test_write_refuses_unknown_format(tmp_path, scan):
    with pytest.raises(ValueError, match="format must be"):
        write_scan(scan, tmp_path / "bad.mat", format="npz")


def test_a_cube_too_large_for_a_level_5_file_is_written_as_v73(tmp_path, monkeypatch):
    import h5py

    from ramansr.io import mat_write

    rng = np.random.default_rng(0)
    scan = Scan(cube=rng.random((4, 5, 6)).astype(np.float32), wavenumbers=np.linspace(2800.0, 3000.0, 6))
    write_scan(scan, tmp_path / "small.mat")
    assert not h5py.is_hdf5(tmp_path / "small.mat")
    # pretend 4 GiB is 100 bytes: the same call then needs v7.3, as a 1600 x 1600 x 1024 SR cube does
    monkeypatch.setattr(mat_write, "MAT5_MAX_ARRAY_BYTES", 100)
    write_scan(scan, tmp_path / "large.mat")
    assert h5py.is_hdf5(tmp_path / "large.mat")
    np.testing.assert_array_equal(read_scan(tmp_path / "large.mat").cube, scan.cube)
