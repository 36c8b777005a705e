"""Tests for the instrument formats of ramansr.io on the real files in ../shared/data, and ramansr-inspect."""

import logging

import numpy as np
import pytest
from io_helpers import DATA, HORIBA, REAL_EXPORT, RENISHAW, horiba_in_absolute_wavenumbers, needs_real_data

from ramansr.inspect import main as inspect_main
from ramansr.io import PIXEL_ORDERS, Scan, ScanFormatError, parse_image_shape, read_scan, write_table

WIP = DATA / "witec" / "LineScans.WIP"
TABLE_FULL = DATA / "witec" / "Witec-Map_full.txt"
TABLE_BARE = DATA / "witec" / "Witec-Map_no.txt"
WDF = RENISHAW
MAT = REAL_EXPORT
TABLE_P_A32 = DATA / "witec" / "P_A32_006_Spec.Data 1 (Table export).txt"
REAL_FILES = [WIP, TABLE_FULL, TABLE_BARE, WDF, HORIBA, MAT]
pytestmark = needs_real_data


def band_roughness(image):
    """Mean absolute difference between neighbouring pixels, both directions."""
    return (np.abs(np.diff(image, axis=0)).mean() + np.abs(np.diff(image, axis=1)).mean()) / 2


def assert_contract(scan, shape, first, last):
    assert scan.cube.shape == shape and scan.cube.dtype == np.float32
    assert scan.wavenumbers.dtype == np.float64 and np.all(np.diff(scan.wavenumbers) > 0)
    assert scan.wavenumbers[0] == pytest.approx(first, abs=0.5)
    assert scan.wavenumbers[-1] == pytest.approx(last, abs=0.5)
    assert np.isfinite(scan.cube).all()


def test_witec_project_lists_its_maps_and_reads_each_line_scan():
    with pytest.raises(ScanFormatError, match="several spectral maps") as caught:
        read_scan(WIP)
    assert WIP.name in str(caught.value)
    assert caught.value.candidates == ["LineX_000_Spec.Data 1", "LineY_000_Spec.Data 1"]
    for caption in caught.value.candidates:
        scan = read_scan(WIP, variable=caption)
        assert_contract(scan, (1, 50, 1024), 107.19, 3378.07)
        assert scan.meta["format"] == "witec-project" and scan.meta["object"] == caption
        assert scan.pixel_size_um[1] == pytest.approx(0.4)  # 50 points over 20 um, from the space transformation
    with pytest.raises(ScanFormatError) as caught:
        read_scan(WIP, variable="Map")
    message = str(caught.value)
    assert "LineX_000_Spec.Data 1" in message and "no spectral map 'Map'" in message


def test_witec_project_matches_witio():
    import witio

    (graph,) = witio.read(WIP).find(caption="LineY_000_Spec.Data 1")
    scan = read_scan(WIP, variable="LineY_000_Spec.Data 1")
    spectra = graph.array()  # (SizeX points, SizeY lines, channels)
    np.testing.assert_array_equal(scan.cube[0, 7], spectra[7, 0])  # point x of line y at cube[y, x]
    np.testing.assert_array_equal(scan.wavenumbers, graph.x_axis("rel. 1/cm")[0])


def test_table_export_places_point_x_of_line_y_at_cube_y_x():
    scan = read_scan(TABLE_FULL)
    assert_contract(scan, (5, 5, 1024), 87.74, 2821.31)
    names = TABLE_FULL.read_text().splitlines()[0].split("\t")
    values = np.loadtxt(TABLE_FULL, skiprows=2)
    for column in (1, 2, 7, 19, 25):
        x, y = (int(n) for n in names[column].rsplit("(", 1)[1].rstrip(")").split("/"))
        np.testing.assert_array_equal(scan.cube[y, x], values[:, column].astype(np.float32))
    assert scan.name == "Map_000_Spec.Data 1" and scan.pixel_size_um is None


def test_table_export_without_header_needs_the_grid_and_its_order_and_then_matches():
    with pytest.raises(ScanFormatError, match=r"without header lines.*25 points.*image_shape"):
        read_scan(TABLE_BARE)
    # 5 x 5: either order gives an image (one the other's transpose), so the order must be stated
    with pytest.raises(ScanFormatError, match=r"square grid.*add 'x fastest' if the columns run along each scan line"):
        read_scan(TABLE_BARE, image_shape=(5, 5))
    bare = read_scan(TABLE_BARE, image_shape=(5, 5, "x fastest"))
    np.testing.assert_array_equal(bare.cube, read_scan(TABLE_FULL).cube)
    assert bare.meta["layout"] == "no labels, columns x fastest (stated)"
    with pytest.raises(ScanFormatError, match="4 x 5 gives 20 points"):
        read_scan(TABLE_BARE, image_shape=(4, 5))


def test_witec_project_four_table_export_without_header_is_its_mat_pixel_for_pixel(caplog):
    """WITec Project FOUR writes the columns down each column of the map (y fastest): found from the data."""
    exported = read_scan(MAT)
    with caplog.at_level(logging.WARNING, logger="ramansr.io.table"):
        table = read_scan(TABLE_P_A32, image_shape=(16, 17))
    assert table.cube.shape == (16, 17, 1024)
    np.testing.assert_array_equal(table.cube, exported.cube)
    np.testing.assert_allclose(table.wavenumbers, exported.wavenumbers, rtol=1e-5)  # the text keeps 6 digits
    assert table.meta["layout"].startswith("no labels, columns y fastest (detected")
    assert f"{TABLE_P_A32}: Table export without label line read y fastest" in caplog.text
    np.testing.assert_array_equal(read_scan(TABLE_P_A32, image_shape=(16, 17, "y fastest")).cube, exported.cube)
    stated = read_scan(TABLE_P_A32, image_shape=(16, 17, "x fastest"))  # a stated order is taken as it is
    assert not np.array_equal(stated.cube, exported.cube)


@pytest.mark.parametrize("order", PIXEL_ORDERS)
def test_the_order_of_a_table_export_without_header_is_found_per_file(tmp_path, order):
    """Witec-Map's 5 x 5 map cut to its first 4 points of each line (no longer square), written in either order."""
    values = np.loadtxt(TABLE_BARE)
    lines, points = np.mgrid[0:5, 0:4]
    columns = 1 + lines * 5 + points  # of the 5 x 5 file, whose points run along each line first
    columns = columns.reshape(-1) if order == "x fastest" else columns.T.reshape(-1)
    path = tmp_path / "cut.txt"
    np.savetxt(path, np.column_stack([values[:, 0], values[:, columns]]), fmt="%.6E", delimiter="\t")
    scan = read_scan(path, image_shape=(5, 4))
    assert scan.meta["layout"].startswith(f"no labels, columns {order} (detected")
    np.testing.assert_array_equal(scan.cube, read_scan(TABLE_FULL).cube[:, :4])


@pytest.mark.parametrize("kept", ["labels", "units"])
def test_table_export_with_one_header_line_reads_as_with_both(tmp_path, kept):
    """WITec lets the user export the label line or the units line alone."""
    lines = TABLE_FULL.read_bytes().split(b"\n")
    del lines[1 if kept == "labels" else 0]
    path = tmp_path / f"{kept}.txt"
    path.write_bytes(b"\n".join(lines))
    full = read_scan(TABLE_FULL)
    # without the labels nothing names the points: the grid and its order are needed, as for no header
    scan = read_scan(path, image_shape=None if kept == "labels" else (5, 5, "x fastest"))
    assert scan.cube.shape == (5, 5, 1024)
    np.testing.assert_array_equal(scan.cube, full.cube)
    np.testing.assert_array_equal(scan.wavenumbers, full.wavenumbers)


@pytest.mark.parametrize("shape", [(3, 4), (20, 30)], ids=["small", "lines-longer-than-the-sniffed-bytes"])
@pytest.mark.parametrize("header", [True, False])
def test_table_writer_round_trip(tmp_path, header, shape):
    rng = np.random.default_rng(1)
    scan = Scan(rng.uniform(0, 1e4, (*shape, 6)).astype(np.float32), np.linspace(500, 600, 6), name="cell")
    write_table(scan, tmp_path / "t.txt", header=header)
    back = read_scan(tmp_path / "t.txt", image_shape=None if header else (*shape, "x fastest"))
    np.testing.assert_array_equal(back.cube, scan.cube)
    np.testing.assert_array_equal(back.wavenumbers, scan.wavenumbers)
    assert back.name == ("cell" if header else "t")


def test_renishaw_map_shape_axis_pixel_size_and_laser():
    scan = read_scan(WDF)
    assert_contract(scan, (49, 45, 394), 924.2, 1667.7)
    assert scan.pixel_size_um == pytest.approx((2.6, 2.6))
    assert scan.meta["format"] == "renishaw" and scan.meta["pixel_order"] == "column_major"


def test_renishaw_column_major_map_is_unsheared():
    """rosettasciio reshapes the column-major spectra row-major; the reader's image is smoother than that."""
    from rsciio.renishaw import file_reader

    scan = read_scan(WDF)
    library = np.asarray(file_reader(str(WDF))[0]["data"])  # (49, 45, 394), spectra in acquisition order
    acquisition_order = library.reshape(-1, library.shape[2])
    np.testing.assert_array_equal(scan.cube[:, 0], acquisition_order[:49])  # the first column comes first
    for band in ((990, 1020), (1550, 1620)):
        channels = (scan.wavenumbers > band[0]) & (scan.wavenumbers < band[1])
        ours = band_roughness(scan.cube[:, :, channels].mean(axis=2))
        assert ours < 0.85 * band_roughness(library[:, :, channels].mean(axis=2))


def test_horiba_map_in_nm_becomes_raman_shift_with_the_laser_line():
    from rsciio.jobinyvon import file_reader

    scan = read_scan(HORIBA)
    (signal,) = file_reader(str(HORIBA))
    wavelength = np.asarray(signal["axes"][2]["axis"])
    assert scan.cube.shape == (2, 3, 34) and scan.pixel_size_um == (2.0, 2.0)
    np.testing.assert_allclose(scan.wavenumbers, 1e7 / 632.817 - 1e7 / wavelength)
    np.testing.assert_array_equal(scan.cube, np.asarray(signal["data"], dtype=np.float32))  # (Y, X) already
    assert scan.meta["laser_wavelength_nm"] == 632.817 and scan.meta["signal_axis_unit"] == "nm"


def test_horiba_map_in_absolute_wavenumbers_becomes_raman_shift_with_the_laser_line(tmp_path):
    """LabSpec's '1/cm abs' axis: shift = 1e7/laser - wavenumber, the same shifts as the nm axis gives."""
    in_nm = read_scan(HORIBA)
    scan = read_scan(horiba_in_absolute_wavenumbers(tmp_path))
    # rosettasciio turns the decreasing nm axis around, not the increasing wavenumbers
    np.testing.assert_allclose(scan.wavenumbers[::-1], in_nm.wavenumbers, atol=1e-3)
    np.testing.assert_array_equal(scan.cube[:, :, ::-1], in_nm.cube)
    assert scan.meta["signal_axis_unit"] == "1/cm abs" and scan.meta["laser_wavelength_nm"] == 632.817
    assert scan.meta["converted"] == "Raman shift = 1e7/632.817 nm - absolute wavenumber (1/cm)"


def test_nm_axis_without_laser_wavelength_is_refused(monkeypatch):
    import rsciio.jobinyvon

    original = rsciio.jobinyvon.file_reader

    def without_laser(path):
        signals = original(path)
        del signals[0]["metadata"]["Acquisition_instrument"]["Laser"]["wavelength"]
        return signals

    monkeypatch.setattr(rsciio.jobinyvon, "file_reader", without_laser)
    with pytest.raises(ScanFormatError, match="nm but no laser wavelength") as caught:
        read_scan(HORIBA)
    assert HORIBA.name in str(caught.value)


def test_an_axis_in_1_per_cm_of_no_known_kind_is_refused(monkeypatch):
    import rsciio.jobinyvon

    original = rsciio.jobinyvon.file_reader

    def unnamed_wavenumbers(path):
        signals = original(path)
        signals[0]["axes"][2].update(name="Spectrum", units="1/cm", axis=np.linspace(1000.0, 1500.0, 34))
        return signals

    monkeypatch.setattr(rsciio.jobinyvon, "file_reader", unnamed_wavenumbers)
    with pytest.raises(ScanFormatError, match="cannot tell Raman shift from absolute wavenumbers"):
        read_scan(HORIBA)


def test_a_single_spectrum_is_not_a_map(monkeypatch):
    import rsciio.jobinyvon

    original = rsciio.jobinyvon.file_reader

    def one_spectrum(path):
        signals = original(path)
        signals[0]["data"] = signals[0]["data"][0, 0]
        signals[0]["axes"] = [dict(signals[0]["axes"][2], index_in_array=0)]
        return signals

    monkeypatch.setattr(rsciio.jobinyvon, "file_reader", one_spectrum)
    with pytest.raises(ScanFormatError, match="not a map: a single spectrum"):
        read_scan(HORIBA)


def test_reading_a_mat_file_does_not_import_the_instrument_libraries():
    import subprocess
    import sys

    code = (
        "import sys; from ramansr.io import read_scan; read_scan(sys.argv[1]); "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('witio', 'rsciio')))"
    )
    result = subprocess.run([sys.executable, "-c", code, str(MAT)], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_parse_image_shape():
    assert parse_image_shape("16 x 17") == (16, 17) and parse_image_shape("5X5") == (5, 5)
    assert parse_image_shape("16 x 17, y fastest") == (16, 17, "y fastest")
    assert parse_image_shape("5x5 X-fastest") == (5, 5, "x fastest")
    assert parse_image_shape("") is None and parse_image_shape(float("nan")) is None
    with pytest.raises(ValueError, match="rows x cols"):
        parse_image_shape("16 by 17")


def test_inspect_describes_every_real_file(tmp_path, capsys):
    assert inspect_main([str(path) for path in REAL_FILES] + ["--png", str(tmp_path / "look.png")]) == 1
    output = capsys.readouterr().out
    assert "grid        49 lines x 45 points" in output and "pixel size  2.6 x 2.6 um" in output
    assert "object      LineY_000_Spec.Data 1 (other candidates: LineX_000_Spec.Data 1)" in output
    assert "1e7/632.817 nm" in output and "grid        16 lines x 17 points" in output
    assert "--image-shape 'rows x cols'" in output  # the headerless Table export, the one failure
    pngs = sorted(tmp_path.glob("look*.png"))
    assert len(pngs) == 6 and all(path.read_bytes().startswith(b"\x89PNG") for path in pngs)
    assert inspect_main([str(TABLE_BARE), "--image-shape", "5 x 5, x fastest"]) == 0
    assert "grid        5 lines x 5 points" in capsys.readouterr().out
