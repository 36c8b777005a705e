"""The detector offset and the fluorescence baseline: estimated, removed, and the maps they no longer change."""

from pathlib import Path

import numpy as np
import pytest
import yaml
from io_helpers import REAL_EXPORT, RENISHAW

from ramansr import simulate
from ramansr.background import check_raman_signal, estimate_offset, read_dark_spectrum, subtract_baselines
from ramansr.decompose import fit_nmf, highres_in_lowres_units, transform_nmf
from ramansr.io import Scan, read_scan
from ramansr.preprocess import preprocess_cube, spectral_chain
from ramansr.register import lr_point_to_upscaled, register_area
from ramansr.selection import select_components

REPO = Path(__file__).resolve().parents[1]
CONFIG = yaml.safe_load((REPO / "config.yaml").read_text())
#: The config's preprocessing with its (default off) fluorescence baseline turned on.
WITH_BASELINE = {**CONFIG["preprocess"], "baseline": {**CONFIG["preprocess"]["baseline"], "enabled": True}}
WITEC_MAT = REAL_EXPORT
RENISHAW_WDF = RENISHAW


def area_settings(**overrides):
    """The default (realistic) detector on 60 x 60 point scans with 240 channels: the paper's window/field ratio."""
    settings = {"lowres": {"points": 60}, "highres": {"points": 60}, "channels": 240}
    settings.update(overrides)
    return simulate.resolve_settings(settings)


@pytest.fixture(scope="module")
def realistic_area():
    """Sample C, area 2, seen by the default detector: offset and fluorescence on."""
    return simulate.simulate_area(area_settings(), "C", 2)


@pytest.fixture(scope="module")
def realistic_maps(realistic_area):
    """Its LR maps, HR maps and collection ratio through the default preprocessing."""
    return decompose(*realistic_area[:2])


def decompose(lowres, highres, settings=None):
    """Both scans through the pipeline's chain and decomposition: LR maps, HR maps, the collection ratio."""
    settings = settings or CONFIG["preprocess"]
    scans = {}
    for name, scan in (("lowres", lowres), ("highres", highres)):
        cube, low, high, record = preprocess_cube(scan.cube, scan.wavenumbers, settings, name=name)
        scans[name] = {"cube": cube, "data_min": low, "data_max": high, "baseline": record["baseline"]}
    lowres_maps, _, model = fit_nmf(scans["lowres"]["cube"], 3, seed=0, max_iter=400, tol=3e-4)
    highres_cube, ratio = highres_in_lowres_units(scans["lowres"], scans["highres"])
    return lowres_maps, transform_nmf(model, highres_cube), ratio


def with_counts_added(scan, counts):
    return Scan(scan.cube + np.float32(counts), scan.wavenumbers, scan.pixel_size_um, scan.name, scan.meta)


def test_the_default_detector_has_an_offset_and_a_background(realistic_area):
    lowres, highres, truth = realistic_area
    assert truth["lowres_offset"] == 610.0 and truth["highres_offset"] == 635.0
    assert truth["baseline_spectra"].max() > 0
    # every count sits on the offset, as in a real CCD export (the WITec export's floor is 633)
    assert lowres.cube.min() > 550 and highres.cube.min() > 550


def test_the_offset_estimate_finds_the_detector_level():
    """Without fluorescence the estimate is the offset plus the floor of the bands' tails, a few % of the bands."""
    lowres, highres, truth = simulate.simulate_area(area_settings(baseline={"enabled": False}), "C", 2)
    for scan, which in ((lowres, "lowres"), (highres, "highres")):
        offset = truth[f"{which}_offset"]
        peak = np.median(scan.cube.reshape(-1, scan.cube.shape[-1]), axis=0).max() - offset
        assert offset <= estimate_offset(scan.cube) <= offset + 0.05 * peak


def test_the_collection_ratio_is_the_true_one_with_offset_and_background(realistic_area, realistic_maps):
    truth = realistic_area[2]
    assert realistic_maps[2] == pytest.approx(truth["highres_scale"] / truth["lowres_scale"], rel=0.05)


def test_no_hr_map_collapses_and_the_window_is_found(realistic_area, realistic_maps):
    truth = realistic_area[2]
    lowres_maps, highres_maps, _ = realistic_maps
    registration = register_area(lowres_maps, highres_maps, 4)
    window = ((registration["X"], registration["Y"]), 4)
    decisions = select_components(
        lowres_maps, highres_maps, **{**CONFIG["select"], "min_snr_db": 6.0, "min_hr_contrast": 0.1}, window=window
    )
    assert not any(d["collapsed"] for d in decisions)
    assert min(d["hr_lr_contrast"] for d in decisions) > 0.5
    # the truth's corner in the registration's half-pixel convention (as results/tables/registration.md)
    x_true, y_true = lr_point_to_upscaled(np.asarray(truth["position"]) / 4, 4)
    assert np.hypot(registration["X"] - x_true, registration["Y"] - y_true) < 0.5


@pytest.mark.parametrize(
    ("lowres_counts", "highres_counts"),
    [(600.0, 600.0), (0.0, 600.0), (600.0, 0.0)],
    ids=["both", "HR only", "LR only"],
)
def test_an_offset_in_either_scan_leaves_the_maps(realistic_area, realistic_maps, lowres_counts, highres_counts):
    """600 counts more in both scans, or in one alone (an unknown dark level): the same maps."""
    lowres, highres, _ = realistic_area
    reference = realistic_maps
    shifted = decompose(with_counts_added(lowres, lowres_counts), with_counts_added(highres, highres_counts))
    for maps, shifted_maps in zip(reference[:2], shifted[:2], strict=True):
        for reference_map, shifted_map in zip(maps, shifted_maps, strict=True):
            assert np.corrcoef(reference_map.ravel(), shifted_map.ravel())[0, 1] > 0.99


def test_the_offset_drags_a_plain_count_ratio_towards_one(realistic_area):
    """Why the calibration fits an offset: the ratio of total counts, the calibration before, is far off."""
    lowres, highres, truth = realistic_area
    ratio = np.median(highres.cube.sum(axis=-1)) / np.median(lowres.cube.sum(axis=-1))
    assert ratio < 0.8 * truth["highres_scale"] / truth["lowres_scale"]


def test_an_offset_only_scan_is_refused():
    rng = np.random.default_rng(0)
    dark = 600 + rng.normal(0, 5, (20, 20, 200)).astype(np.float32)
    with pytest.raises(ValueError, match=r"dark\.mat: no Raman signal above the detector offset"):
        spectral_chain(dark, np.linspace(100, 3800, 200), CONFIG["preprocess"], name="dark.mat")
    # a scan with a band well above the noise passes
    dark[..., 100] += 100
    check_raman_signal(dark - 600, "band.mat")


def test_a_dark_spectrum_file_is_interpolated_or_refused(tmp_path):
    wavenumbers = np.linspace(100, 3800, 50)
    table = tmp_path / "dark.txt"
    np.savetxt(table, np.column_stack([wavenumbers[::-1], 600 + wavenumbers[::-1] / 100]))
    np.testing.assert_allclose(read_dark_spectrum(table, wavenumbers), 600 + wavenumbers / 100)
    column = tmp_path / "dark.csv"
    np.savetxt(column, np.full(49, 600.0))
    with pytest.raises(ValueError, match=r"dark\.csv: a dark spectrum of 49 values for a scan of 50 channels"):
        read_dark_spectrum(column, wavenumbers)
    cube = np.full((4, 4, 50), 600.0, np.float32) + 200 * np.exp(-(((wavenumbers - 2900) / 50) ** 2)).astype(np.float32)
    settings = {**CONFIG["preprocess"], "offset": str(table), "baseline": {"enabled": False}}
    signal, record = spectral_chain(cube, wavenumbers, {**settings, "window_length": 5, "polyorder": 2}, name="s")
    np.testing.assert_allclose(record["offset"], 600 + wavenumbers / 100)
    assert signal[..., 0].mean() == pytest.approx(-1.0, abs=0.2)  # 600 + 1 removed from a channel at 600


def band_height(wavenumbers, spectrum, band, sides):
    """A band's peak over the straight line between the medians of two band-free windows beside it."""
    points = [np.median(spectrum[(wavenumbers >= low) & (wavenumbers <= high)]) for low, high in sides]
    centres = [np.mean(side) for side in sides]
    inside = (wavenumbers >= band[0]) & (wavenumbers <= band[1])
    line = np.interp(wavenumbers[inside], centres, points)
    return float((spectrum[inside] - line).max())


@pytest.mark.skipif(not WITEC_MAT.exists(), reason="needs ../shared/data/witec")
def test_the_baseline_leaves_the_bands_of_a_real_witec_export():
    """A real cell (WITec Project FOUR export): the band-free region goes to zero, the CH band keeps its height."""
    scan = read_scan(WITEC_MAT)
    signal, record = spectral_chain(scan.cube, scan.wavenumbers, WITH_BASELINE, name=WITEC_MAT.name)
    w = scan.wavenumbers
    before = np.median(scan.cube.reshape(-1, len(w)), axis=0) - record["offset"]
    after = np.median(signal.reshape(-1, len(w)), axis=0)
    silent = (w > 1800) & (w < 2700)
    ch_sides = [(2650, 2750), (3000, 3050)]
    # the offset: the export's floor (its minimum count is 633)
    assert 600 < record["offset"] < 850
    # the broad background under the fingerprint is gone, the band-free region sits at zero
    fingerprint = (w > 600) & (w < 1000)
    assert np.median(before[fingerprint]) > 300 and abs(np.median(after[fingerprint])) < 100
    assert abs(np.median(after[silent])) < 0.05 * band_height(w, after, (2800, 3000), ch_sides)
    # the CH stretch keeps its height over its local background to within 10 %
    assert band_height(w, after, (2800, 3000), ch_sides) == pytest.approx(
        band_height(w, before, (2800, 3000), ch_sides), rel=0.10
    )


@pytest.mark.skipif(not RENISHAW_WDF.exists(), reason="needs ../shared/data/renishaw")
def test_the_baseline_of_a_real_renishaw_map_keeps_its_bands():
    scan = read_scan(RENISHAW_WDF)
    w = scan.wavenumbers
    before = np.median(scan.cube.reshape(-1, len(w)), axis=0)
    settings = {**WITH_BASELINE, "despike": {"enabled": False}}
    signal, record = spectral_chain(scan.cube, w, settings, name=RENISHAW_WDF.name)
    after = np.median(signal.reshape(-1, len(w)), axis=0)
    # the strongest band of the map over its surroundings survives the removal
    inner = slice(40, len(w) - 40)  # a band with room for its two sides
    peak = 40 + int(np.argmax(before[inner] - np.percentile(before, 10)))
    sides = [(w[peak - 30], w[peak - 20]), (w[peak + 20], w[peak + 30])]
    band = (w[peak - 5], w[peak + 5])
    assert band_height(w, after, band, sides) == pytest.approx(
        band_height(w, before - record["offset"], band, sides), rel=0.15
    )
    # a background of ~500 counts over the offset's estimate goes to within 2 % of it
    assert abs(np.median(after)) < 0.02 * np.median(before)


def test_subtract_baselines_removes_a_polynomial_background_in_place():
    wavenumbers = np.linspace(100, 3800, 400)
    band = 50 * np.exp(-(((wavenumbers - 2900) / 30) ** 2))
    background = 100 + 0.02 * wavenumbers - 3e-6 * wavenumbers**2
    cube = np.stack([band + background, 2 * band + 0.5 * background]).astype(np.float32)[None]
    mean = subtract_baselines(cube, wavenumbers, "modpoly", {"poly_order": 2})
    np.testing.assert_allclose(cube[0, 0], band, atol=2.0)
    np.testing.assert_allclose(cube[0, 1], 2 * band, atol=2.0)
    np.testing.assert_allclose(mean, 0.75 * background, atol=2.0)


def test_the_preprocess_stage_and_prediction_run_one_chain(realistic_area, tmp_path):
    """The stage's cube and ranges are byte for byte what prediction's call of the chain gives the same scan."""
    from ramansr.geometry.areas import area_geometry
    from ramansr.io_utils import load_npz, save_npz, write_json
    from ramansr.preprocess import preprocess_scan_file

    lowres, highres, _ = realistic_area
    headers = [
        {
            "shape": list(scan.cube.shape),
            "pixel_size_um": list(scan.pixel_size_um),
            "wavenumbers": list(scan.wavenumbers),
        }
        for scan in (lowres, highres)
    ]
    write_json(area_geometry(*headers, "C/2"), tmp_path / "geometry.json")
    write_json(headers[0], tmp_path / "lowres.json")
    save_npz(tmp_path / "arrays.npz", cube=lowres.cube, wavenumbers=lowres.wavenumbers)
    preprocess_scan_file(
        tmp_path / "arrays.npz",
        tmp_path / "cube.npz",
        tmp_path / "spectra.npz",
        WITH_BASELINE,
        scan="lowres",
        geometry_path=tmp_path / "geometry.json",
        lowres_header_path=tmp_path / "lowres.json",
    )
    stage = load_npz(tmp_path / "cube.npz")
    cube, data_min, data_max, record = preprocess_cube(lowres.cube, lowres.wavenumbers, WITH_BASELINE, name="C/2")
    for name, array in (
        ("cube", cube),
        ("data_min", data_min),
        ("data_max", data_max),
        ("baseline", record["baseline"]),
    ):
        assert stage[name].tobytes() == np.asarray(array).tobytes(), name
    assert load_npz(tmp_path / "spectra.npz")["offset"] == pytest.approx(record["offset"])


@pytest.mark.skipif(not WITEC_MAT.exists(), reason="needs ../shared/data/witec")
@pytest.mark.parametrize("settings", [CONFIG["preprocess"], WITH_BASELINE], ids=["default", "with baseline"])
def test_the_real_witec_export_decomposes_without_a_blank_map(settings):
    """The real cell's three NMF maps each carry contrast after the chain, offset estimated and removed."""
    scan = read_scan(WITEC_MAT)
    cube, _, _, record = preprocess_cube(scan.cube, scan.wavenumbers, settings, name=WITEC_MAT.name)
    maps, _, _ = fit_nmf(cube, 3, seed=0, max_iter=400, tol=3e-4)
    assert record["offset"] > 600
    for component in maps:
        assert component.std() > 0.05 * component.max() > 0


def background_ratios(wavenumbers, cube, offset):
    """The mean spectrum's level under the fingerprint and in the band-free region, over the CH peak's."""
    mean = cube.reshape(-1, cube.shape[-1]).mean(axis=0) - offset
    ch_peak = mean[(wavenumbers > 2800) & (wavenumbers < 3000)].max()
    return [
        np.median(mean[(wavenumbers > low) & (wavenumbers < high)]) / ch_peak
        for low, high in ((600, 1000), (1900, 2600))
    ]


@pytest.mark.skipif(not WITEC_MAT.exists(), reason="needs ../shared/data/witec")
def test_the_simulated_detector_looks_like_the_real_export():
    """Offset and fluorescence as the real WITec export has them: the floor, and the background against the CH band."""
    real = read_scan(WITEC_MAT)
    real_offset = estimate_offset(real.cube)
    lowres, _, truth = simulate.simulate_area(area_settings(channels=954), "C", 2)
    assert 0.75 < truth["lowres_offset"] / real_offset < 1.25
    simulated = background_ratios(lowres.wavenumbers, lowres.cube, truth["lowres_offset"])
    measured = background_ratios(real.wavenumbers, real.cube, real_offset)
    np.testing.assert_allclose(simulated, measured, atol=0.05)
