import numpy as np
import pytest
from scipy.ndimage import gaussian_filter, map_coordinates

from ramansr.register import (
    doubts,
    lr_point_to_upscaled,
    match_window,
    register_area,
    registration_table,
    upscale,
    weighted_median,
)


def smooth_field(rng, size, sigma):
    field = gaussian_filter(rng.normal(size=(size, size)), sigma)
    return (field - field.min()) / np.ptp(field)


def lr_hr_pair(rng, x0, y0, lr_size=40, hr_size=48, factor=4):
    """An LR map and the HR map of the window whose top-left LR point is (x0, y0), in LR points."""
    fine_step = 0.25  # LR points per fine pixel: the fine grid is 4x the LR grid
    fine = smooth_field(rng, lr_size * factor, sigma=10)
    lr_map = fine[::factor, ::factor]  # point sampling at every 4th fine pixel
    # HR points sit every quarter LR point starting at (x0, y0), sampled from the fine grid
    ys = (y0 + np.arange(hr_size) * fine_step) * factor
    xs = (x0 + np.arange(hr_size) * fine_step) * factor
    yy, xx = np.meshgrid(ys, xs, indexing="ij")
    hr_map = map_coordinates(fine, [yy, xx], order=3)
    return lr_map.astype(np.float32), hr_map.astype(np.float32)


def test_upscale_size_and_values():
    image = np.arange(12, dtype=np.float32).reshape(3, 4)
    big = upscale(image, 4)
    assert big.shape == (12, 16)
    np.testing.assert_allclose(big.mean(), image.mean(), rtol=0.05)


@pytest.mark.parametrize("x0, y0", [(7.25, 11.5), (12.0, 3.75), (20.5, 17.25)])
def test_window_found_at_the_true_position(x0, y0):
    lr_map, hr_map = lr_hr_pair(np.random.default_rng(0), x0, y0)
    position, peak, correlation = match_window(lr_map, hr_map, factor=4)
    expected = lr_point_to_upscaled([x0, y0], 4)
    assert np.all(np.abs(position - expected) <= 1.0), (position, expected)
    assert peak > 0.95
    assert correlation.shape == (160 - 48 + 1, 160 - 48 + 1)


@pytest.mark.parametrize("factor", [2, 3])
def test_window_found_at_other_factors_and_non_square_windows(factor):
    # HR points every 1/factor LR point, a window 30 x 45 HR points, found to within one HR pixel
    rng = np.random.default_rng(factor)
    fine = smooth_field(rng, 40 * factor, sigma=2.5 * factor)
    lr_map = fine[::factor, ::factor]
    x0, y0 = 7.0 + 1 / factor, 5.0
    yy, xx = np.meshgrid((y0 + np.arange(30) / factor) * factor, (x0 + np.arange(45) / factor) * factor, indexing="ij")
    hr_map = map_coordinates(fine, [yy, xx], order=3).astype(np.float32)
    position, peak, _ = match_window(lr_map.astype(np.float32), hr_map, factor)
    np.testing.assert_allclose(position, lr_point_to_upscaled([x0, y0], factor), atol=1.0)
    assert peak > 0.95


def test_template_larger_than_the_image_is_an_error():
    with pytest.raises(ValueError, match="larger than"):
        match_window(np.zeros((4, 4), np.float32), np.zeros((20, 20), np.float32), factor=4)


def test_consensus_ignores_a_noise_component():
    rng = np.random.default_rng(1)
    lr_a, hr_a = lr_hr_pair(rng, 9.5, 6.25)
    lr_b, hr_b = lr_hr_pair(np.random.default_rng(2), 9.5, 6.25)
    noise_lr = rng.normal(size=lr_a.shape).astype(np.float32)
    noise_hr = rng.normal(size=hr_a.shape).astype(np.float32)
    result = register_area(np.stack([lr_a, noise_lr, lr_b]), np.stack([hr_a, noise_hr, hr_b]), factor=4)
    expected = lr_point_to_upscaled([9.5, 6.25], 4)
    assert abs(result["X"] - expected[0]) <= 1 and abs(result["Y"] - expected[1]) <= 1
    assert result["components"][1]["peak"] < 0.5 < result["confidence"]


def test_weighted_median():
    assert weighted_median([1.0, 2.0, 100.0], [1, 1, 0.1]) == 2.0
    assert weighted_median([1.0, 2.0, 100.0], [0.1, 0.1, 5]) == 100.0


@pytest.mark.parametrize(("factor", "shift"), [(4, 1.5), (3, 1.0), (2, 0.5)])
def test_registration_table_converts_the_truth_convention(factor, shift):
    # truth (X, Y) with upscaled pixel j at LR point j / factor -> half-pixel convention adds (factor - 1) / 2
    registrations = {
        ("A", "1"): {
            "X": 40.0 + shift,
            "Y": 10.0 + shift,
            "confidence": 0.9,
            "doubts": [],
            "settings": {"factor": factor},
        }
    }
    table = registration_table(registrations, {("A", "1"): (40.0, 10.0)})
    assert table.loc[0, "error"] == pytest.approx(0.0)
    assert table.loc[0, "X_true"] == pytest.approx(40.0 + shift)
    assert table.loc[0, "doubtful"] == ""


def registration(x, y, peaks_positions, search_range=(100, 80)):
    components = [{"component": i, "X": px, "Y": py, "peak": peak} for i, (peak, px, py) in enumerate(peaks_positions)]
    return {
        "X": x,
        "Y": y,
        "components": components,
        "search_range": list(search_range),
        "confidence": max(peak for peak, _, _ in peaks_positions),
    }


def test_a_sound_registration_has_no_doubts():
    assert doubts(registration(40.0, 30.0, [(0.95, 40.0, 30.0), (0.9, 40.5, 29.8), (0.1, 3.0, 70.0)]), 0.5, 2.0) == []


def test_doubtful_registrations_give_their_reason():
    weak = doubts(registration(40.0, 30.0, [(0.3, 40.0, 30.0), (0.2, 10.0, 5.0)]), 0.5, 2.0)
    assert len(weak) == 1 and "peak correlation 0.30 < 0.5" in weak[0]
    split = doubts(registration(40.0, 30.0, [(0.9, 40.0, 30.0), (0.8, 46.0, 30.0)]), 0.5, 2.0)
    assert len(split) == 1 and "disagree by 6.0 HR px > 2" in split[0]
    border = doubts(registration(0.0, 30.0, [(0.9, 0.0, 30.0)]), 0.5, 2.0)
    assert len(border) == 1 and "border of the search range [0, 100] x [0, 80]" in border[0]


def test_registration_table_names_doubtful_areas(tmp_path):
    import json

    from ramansr.register import registration_table_file

    paths = []
    for area, peak in (("1", 0.9), ("2", 0.2)):
        result = registration(40.0, 30.0, [(peak, 40.0, 30.0)])
        result["doubts"] = doubts(result, 0.5, 2.0)
        result["settings"] = {"factor": 3}
        paths.append(tmp_path / f"{area}.json")
        paths[-1].write_text(json.dumps(result))
    registration_table_file([("A", "1"), ("A", "2")], paths, [], tmp_path / "r.csv", tmp_path / "r.md")
    markdown = (tmp_path / "r.md").read_text()
    assert "Doubtful registrations (1): A/2" in markdown and "peak correlation 0.20 < 0.5" in markdown
    assert "error" not in (tmp_path / "r.csv").read_text().splitlines()[0]  # real data: no truth columns
