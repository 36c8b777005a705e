"""The run's geometry: one SR factor from the data, and every refusal naming the area and the numbers."""

import json

import numpy as np
import pytest
from spectra_helpers import chain_settings

from ramansr.decompose import fit_nmf, transform_nmf
from ramansr.geometry import GeometryError
from ramansr.geometry.areas import area_geometry, area_geometry_file, geometry_file, run_geometry
from ramansr.geometry.steps import step_ratio
from ramansr.preprocess import align_scan, preprocess_cube, resample_grid

AXIS = list(np.linspace(100.0, 3800.0, 160))


def header(rows, cols, step, axis=AXIS):
    return {
        "shape": [rows, cols, len(axis)],
        "pixel_size_um": None if step is None else [step, step],
        "wavenumbers": list(axis),
    }


@pytest.mark.parametrize(
    ("lowres", "highres", "factor"), [(2.0, 0.5, 4), (1.5, 0.5, 3), (1.0, 0.5, 2), (2.0, 0.505, 4)]
)
def test_the_factor_is_the_rounded_step_ratio(lowres, highres, factor):
    found, ratio, resample = step_ratio((lowres, lowres), (highres, highres), "A/1")
    assert found == factor and not resample
    np.testing.assert_allclose(ratio, lowres / highres)


def test_a_ratio_off_an_integer_is_resampled():
    factor, ratio, resample = step_ratio((1.5, 1.5), (0.55, 0.55), "A/1")
    assert factor == 3 and resample and ratio[0] == pytest.approx(2.727, abs=1e-3)


def test_an_hr_scan_with_the_lr_pixel_size_is_refused():
    with pytest.raises(
        GeometryError,
        match=r"sample A, area 2: the HR scan is not finer than the LR scan: "
        r"LR step 2 x 2 um, HR step 2 x 2 um \(ratio 1 x 1\)",
    ):
        run_geometry([("A", "2")], [header(24, 24, 2.0)], [header(24, 24, 2.0)])


def test_a_factor_the_models_cannot_build_is_refused():
    with pytest.raises(GeometryError, match=r"A/1: SR factor 5 from LR step 2.5 x 2.5 um, HR step 0.5 x 0.5 um"):
        step_ratio((2.5, 2.5), (0.5, 0.5), "A/1")


def test_axes_with_different_factors_are_refused():
    with pytest.raises(GeometryError, match=r"A/1: the two axes give different SR factors: LR step 2 x 1.5 um"):
        step_ratio((2.0, 1.5), (0.5, 0.5), "A/1")


def test_areas_with_different_factors_are_listed():
    headers_lr = [header(24, 24, 2.0), header(24, 24, 1.5), header(24, 24, 2.0)]
    headers_hr = [header(24, 24, 0.5)] * 3
    with pytest.raises(GeometryError) as error:
        run_geometry([("A", "1"), ("A", "2"), ("B", "1")], headers_lr, headers_hr)
    message = str(error.value)
    assert "the areas' SR factors differ ([3, 4])" in message
    assert "sample A, area 1: factor 4 (LR step 2 x 2 um, HR step 0.5 x 0.5 um)" in message
    assert "sample A, area 2: factor 3 (LR step 1.5 x 1.5 um, HR step 0.5 x 0.5 um)" in message


def test_an_hr_field_larger_than_the_lr_field_is_refused_in_um():
    # LR 10 x 12 points at 2 um: 18 x 22 um; HR 30 x 60 points at 0.5 um: 14.5 x 29.5 um
    with pytest.raises(
        GeometryError,
        match=r"sample B, area 3: the HR field 14.5 x 29.5 um \(height x width\) does "
        r"not fit inside the LR field 18 x 22 um",
    ):
        run_geometry([("B", "3")], [header(10, 12, 2.0)], [header(30, 60, 0.5)])


def test_non_square_scans_pass():
    geometry = run_geometry([("A", "1")], [header(20, 30, 1.5)], [header(24, 50, 0.5)])
    record = geometry["areas"][0]
    assert geometry["factor"] == 3
    assert record["lowres_field_um"] == [28.5, 43.5] and record["highres_field_um"] == [11.5, 24.5]


def test_every_bad_area_is_named_at_once():
    with pytest.raises(GeometryError) as error:
        run_geometry(
            [("A", "1"), ("A", "2"), ("A", "3")],
            [header(24, 24, 2.0), header(24, 24, 2.0), header(24, 24, 2.0)],
            [header(24, 24, 2.0), header(24, 24, 0.5), header(200, 24, 0.5)],
        )
    assert "sample A, area 1" in str(error.value) and "sample A, area 3" in str(error.value)
    assert "sample A, area 2" not in str(error.value)


def test_a_missing_pixel_size_comes_from_the_sheet_and_must_agree():
    with pytest.raises(
        GeometryError,
        match="sample A, area 1: the LR scan has no pixel size; give it in the samples "
        r"sheet \(lowres_step_um\)",
    ):
        run_geometry([("A", "1")], [header(24, 24, None)], [header(24, 24, 0.5)])
    geometry = run_geometry([("A", "1")], [header(24, 24, None)], [header(24, 24, 0.5)], lowres_steps=[1.0])
    assert geometry["factor"] == 2
    with pytest.raises(
        GeometryError,
        match=r"the HR scan's pixel size 0.5 x 0.5 um differs from the sheet's "
        r"0.25 x 0.25 um",
    ):
        run_geometry([("A", "1")], [header(24, 24, 2.0)], [header(24, 24, 0.5)], highres_steps=[0.25])


def test_too_small_a_spectral_overlap_names_the_area_and_both_ranges():
    with pytest.raises(
        GeometryError,
        match=r"sample C, area 1: the spectral axes overlap too little: "
        r"LR 100.0-3800.0, HR 3000.0-4000.0 rel. 1/cm; overlap 22% of the LR "
        r"range, at least 50% needed",
    ):
        run_geometry([("C", "1")], [header(24, 24, 2.0)], [header(24, 24, 0.5, np.linspace(3000.0, 4000.0, 100))])
    with pytest.raises(GeometryError, match="overlap 0% of the LR range"):
        run_geometry([("C", "1")], [header(24, 24, 2.0)], [header(24, 24, 0.5, np.linspace(4000.0, 4500.0, 100))])


def test_geometry_files_write_the_factor_or_list_the_differing_areas(tmp_path):
    area_paths = []
    for area, lr_step in (("1", 1.5), ("2", 1.5), ("3", 2.0)):
        paths = {}
        for scan, rows, step in (("lowres", 20, lr_step), ("highres", 30, 0.5)):
            paths[scan] = tmp_path / f"{area}_{scan}.json"
            paths[scan].write_text(json.dumps(header(rows, 25, step)))
        area_paths.append(tmp_path / f"{area}.json")
        area_geometry_file(paths["lowres"], paths["highres"], area_paths[-1], "A", area)
    geometry_file(area_paths[:2], tmp_path / "geometry.json")
    geometry = json.loads((tmp_path / "geometry.json").read_text())
    assert geometry["factor"] == 3 and geometry["areas"][0]["channels"] == [0, 160]
    assert [record["area"] for record in geometry["areas"]] == ["1", "2"]
    with pytest.raises(GeometryError, match=r"sample A, area 3: factor 4 \(LR step 2 x 2 um"):
        geometry_file(area_paths, tmp_path / "mixed.json")
    assert not (tmp_path / "mixed.json").exists()


def test_resampling_puts_the_hr_scan_on_the_lr_step_over_factor_grid():
    # a linear ramp in x and y, sampled at 0.55 um, resampled at 0.5 um over the same field
    rows, cols = np.mgrid[0:12, 0:16]
    cube = np.stack([rows * 0.55, cols * 0.55], axis=-1).astype(np.float32)
    resampled = resample_grid(cube, (0.55, 0.55), (0.5, 0.5))
    assert resampled.shape == (13, 17, 2)  # floor(11 * 0.55 / 0.5) + 1, floor(15 * 0.55 / 0.5) + 1
    np.testing.assert_allclose(resampled[..., 0], np.arange(13)[:, None] * 0.5 * np.ones((1, 17)), atol=1e-5)
    np.testing.assert_allclose(resampled[..., 1], np.arange(17)[None, :] * 0.5 * np.ones((13, 1)), atol=1e-5)


def test_a_shifted_cropped_hr_axis_gives_the_same_nmf_maps():
    """The HR scan re-measured on another calibration (shifted by a third of a channel, 10 % cut off each end)."""
    from ramansr.simulate import simulate_area

    settings = {"seed": 5, "samples": ["F"], "lowres": {"points": 24}, "highres": {"points": 32}, "channels": 400}
    lowres, highres, _ = simulate_area(settings, "F", 1)
    axis = lowres.wavenumbers
    spacing = np.diff(axis)
    shifted = axis[40:-40] + spacing[40:-39] / 3
    shifted_cube = np.stack([np.interp(shifted, axis, spectrum) for spectrum in highres.cube.reshape(-1, len(axis))])
    shifted_cube = shifted_cube.reshape((*highres.cube.shape[:2], len(shifted))).astype(np.float32)

    maps = {}
    for name, (cube, hr_axis) in {"aligned": (highres.cube, axis), "shifted": (shifted_cube, shifted)}.items():
        record = area_geometry(header(24, 24, 2.0, axis), header(32, 32, 0.5, hr_axis), "F/1")
        # both runs keep the LR channels inside the shifted axis's range, so the LR side is identical
        record["channels"] = area_geometry(header(24, 24, 2.0, axis), header(32, 32, 0.5, shifted), "F/1")["channels"]
        lr_cube, target = align_scan(lowres.cube, axis, "lowres", record, axis)
        hr_cube, hr_target = align_scan(cube, hr_axis, "highres", record, axis)
        np.testing.assert_array_equal(target, hr_target)
        lr_scaled = preprocess_cube(lr_cube, target, chain_settings(7, 2), name="lowres")[0]
        _, _, model = fit_nmf(lr_scaled, 3, seed=0, max_iter=300)
        maps[name] = transform_nmf(model, preprocess_cube(hr_cube, hr_target, chain_settings(7, 2), name="highres")[0])
    for aligned, shifted_map in zip(maps["aligned"], maps["shifted"], strict=True):
        # the same map up to the interpolation of noisy spectra: correlation and relative error
        assert np.corrcoef(aligned.ravel(), shifted_map.ravel())[0, 1] > 0.99
        assert np.abs(aligned - shifted_map).mean() < 0.05 * np.abs(aligned).mean()


def test_hr_scans_of_different_sizes_are_refused_naming_every_area_and_size():
    """pairs.npz stacks every area's maps: HR scans of two sizes would end in numpy's 'inhomogeneous shape'."""
    areas = [("A", "1"), ("A", "2"), ("B", "1")]
    lowres = [header(24, 24, 2.0)] * 3
    with pytest.raises(GeometryError) as error:
        run_geometry(areas, lowres, [header(24, 24, 0.5), header(32, 24, 0.5), header(24, 24, 0.5)])
    message = str(error.value)
    assert "the areas' HR scans differ in size (24 x 24, 32 x 24)" in message
    assert "sample A, area 2: 32 x 24 points" in message and "sample B, area 1: 24 x 24 points" in message
    with pytest.raises(GeometryError, match=r"the areas' LR scans differ in size \(24 x 24, 30 x 24\)"):
        run_geometry(areas[:2], [header(24, 24, 2.0), header(30, 24, 2.0)], [header(24, 24, 0.5)] * 2)
    # sizes count on the grid the HR scan ends on: 22 points at 0.55 um resample to 24 at 0.5 um
    geometry = run_geometry(areas[:2], lowres[:2], [header(24, 24, 0.5), header(22, 22, 0.55)])
    assert [record["highres_shape"] for record in geometry["areas"]] == [[24, 24], [24, 24]]


@pytest.fixture(scope="module")
def simulated_pair():
    from ramansr.simulate import simulate_area

    settings = {
        "lowres": {"points": 16, "step_um": 2.0},
        "highres": {"points": 16, "step_um": 0.5},
        "channels": 300,
    }
    lowres, highres, _ = simulate_area(settings, "C", 1)
    return lowres, highres


@pytest.mark.parametrize("shift", [0.0, 8.0, 400.0, -250.0])
def test_an_hr_axis_shifted_by_hundreds_of_wavenumbers_is_refused(simulated_pair, shift):
    """The overlap check passes a shifted axis (here 89 % or more of the LR range); the spectra do not."""
    from ramansr.geometry.areas import scan_header

    lowres, highres = simulated_pair
    lowres_header = scan_header(lowres, "data/C/1/lowres.mat")
    highres_header = scan_header(highres, "data/C/1/highres.mat")
    highres_header["wavenumbers"] = [w + shift for w in highres_header["wavenumbers"]]
    if abs(shift) < 20:  # a calibration difference: taken, and interpolated over
        assert area_geometry(lowres_header, highres_header, "sample C, area 1")["factor"] == 4
        return
    with pytest.raises(GeometryError) as error:
        area_geometry(lowres_header, highres_header, "sample C, area 1")
    message = str(error.value)
    assert message.startswith("sample C, area 1: the spectra do not match: the mean spectrum of data/C/1/highres.mat")
    assert "that of data/C/1/lowres.mat" in message
    found = float(message.split("shifted by ")[1].split(" rel.")[0])
    assert found == pytest.approx(shift, abs=15.0)
