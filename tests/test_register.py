import numpy as np
import pytest
from scipy.ndimage import gaussian_filter, map_coordinates

from ramansr.register import (
    ORIENTATIONS,
    doubts,
    lr_point_to_upscaled,
    match_window,
    peak_margin,
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
            "peak_margin": 0.4,
            "doubts": [],
            "settings": {"factor": factor},
        }
    }
    table = registration_table(registrations, {("A", "1"): (40.0, 10.0)})
    assert table.loc[0, "error"] == pytest.approx(0.0)
    assert table.loc[0, "X_true"] == pytest.approx(40.0 + shift)
    assert table.loc[0, "doubtful"] == ""


def registration(x, y, components, search_range=(100, 80), other_peak=0.0):
    """A registration from (peak, X, Y) or (peak, X, Y, other orientations' peak) per component.

    Without its own, a component's other orientations peak at ``other_peak``.
    """
    components = [(*c, other_peak) if len(c) == 3 else c for c in components]
    others = list(ORIENTATIONS)[1:]
    result = {
        "X": x,
        "Y": y,
        "components": [
            {
                "component": i,
                "X": px,
                "Y": py,
                "peak": peak,
                "orientation_peaks": dict.fromkeys(others, other),
                "peak_margin": (peak - other) / (1 - other),
                "closest_orientation": others[0],
            }
            for i, (peak, px, py, other) in enumerate(components)
        ],
        "search_range": list(search_range),
        "confidence": max(c[0] for c in components),
    }
    result["peak_margin"] = max(c["peak_margin"] for c in result["components"])
    return result


def test_a_sound_registration_has_no_doubts():
    assert (
        doubts(registration(40.0, 30.0, [(0.95, 40.0, 30.0), (0.9, 40.5, 29.8), (0.1, 3.0, 70.0, 0.09)]), 0.2, 2.0)
        == []
    )


def test_doubtful_registrations_give_their_reason():
    weak = doubts(registration(40.0, 30.0, [(0.3, 40.0, 30.0, 0.27), (0.2, 10.0, 5.0, 0.2)]), 0.2, 2.0)
    assert (
        len(weak) == 1
        and "peak not distinct" in weak[0]
        and "0.30 against 0.27 for its HR map rotated 90 degrees, a margin of 0.04 < 0.2" in weak[0]
    )
    split = doubts(registration(40.0, 30.0, [(0.9, 40.0, 30.0), (0.8, 46.0, 30.0)]), 0.2, 2.0)
    assert len(split) == 1 and "disagree by 6.0 HR px > 2" in split[0]
    border = doubts(registration(0.0, 30.0, [(0.9, 0.0, 30.0)]), 0.2, 2.0)
    assert len(border) == 1 and "border of the search range [0, 100] x [0, 80]" in border[0]


def test_the_peak_margin_is_the_share_of_the_other_orientations_misfit_removed():
    # a smooth window that fits nearly as well mirrored, and a low-contrast one: both distinct
    assert peak_margin(0.99, {"mirrored up-down": 0.96, "transposed": 0.5}) == (pytest.approx(0.75), "mirrored up-down")
    assert peak_margin(0.55, {"rotated 90 degrees": 0.40})[0] == pytest.approx(0.25)
    assert peak_margin(0.50, {"rotated 90 degrees": 0.52})[0] < 0  # fits better rotated


def cut_window(lr_map, factor, x, y, size):
    """An HR map cut from the upscaled LR map at whole pixels (X, Y), with a little noise."""
    window = upscale(lr_map, factor)[y : y + size, x : x + size]
    return (window + np.random.default_rng(5).normal(0, 0.02, window.shape)).astype(np.float32)


@pytest.mark.parametrize("orientation", ["rotated 90 degrees", "rotated 180 degrees", "mirrored left-right"])
def test_an_hr_scan_in_another_orientation_is_doubtful(orientation):
    """One component, the HR window rotated or mirrored: it registers somewhere with a fair peak, and is flagged."""
    lr_map = smooth_field(np.random.default_rng(3), 40, sigma=2.5).astype(np.float32)
    hr_map = np.ascontiguousarray(ORIENTATIONS[orientation](cut_window(lr_map, 4, 37, 52, 48)))
    result = register_area(lr_map[None], hr_map[None], factor=4)
    reasons = doubts(result, 0.2, 2.0)
    # its best other orientation is the one that undoes the turn (rotated 90 -> rotated 270)
    assert any("fits as well or better in another orientation" in reason for reason in reasons), reasons
    assert any("check that the LR and HR scans have the same orientation" in reason for reason in reasons)
    sound = register_area(lr_map[None], cut_window(lr_map, 4, 37, 52, 48)[None], factor=4)
    assert (sound["X"], sound["Y"]) == pytest.approx((37, 52), abs=0.3)
    assert doubts(sound, 0.2, 2.0) == []


def test_a_right_window_with_a_low_peak_is_not_doubtful():
    """Low contrast: the HR map is mostly noise (peak correlation about 0.45), but the window is right."""
    lr_map = smooth_field(np.random.default_rng(4), 40, sigma=2.5).astype(np.float32)
    window = upscale(lr_map, 4)[30:110, 61:141]
    noisy = window + np.random.default_rng(6).normal(0, 2.0 * window.std(), window.shape).astype(np.float32)
    result = register_area(lr_map[None], noisy[None], factor=4)
    assert 0.3 < result["confidence"] < 0.6
    assert (result["X"], result["Y"]) == pytest.approx((61, 30), abs=1.0)
    assert doubts(result, 0.2, 2.0) == []


def test_a_window_in_a_map_unrelated_to_the_hr_map_is_doubtful():
    lr_map = smooth_field(np.random.default_rng(7), 40, sigma=2.5).astype(np.float32)
    other = smooth_field(np.random.default_rng(8), 40, sigma=2.5).astype(np.float32)
    result = register_area(lr_map[None], cut_window(other, 4, 40, 40, 48)[None], factor=4)
    assert any("not distinct" in reason or "another orientation" in reason for reason in doubts(result, 0.2, 2.0))


def test_registration_table_names_doubtful_areas(tmp_path):
    import json

    from ramansr.register import registration_table_file

    paths = []
    for area, peak in (("1", 0.9), ("2", 0.2)):
        result = registration(40.0, 30.0, [(peak, 40.0, 30.0)], other_peak=0.3)
        result["doubts"] = doubts(result, 0.2, 2.0)
        result["settings"] = {"factor": 3}
        paths.append(tmp_path / f"{area}.json")
        paths[-1].write_text(json.dumps(result))
    registration_table_file([("A", "1"), ("A", "2")], paths, [], tmp_path / "r.csv", tmp_path / "r.md")
    markdown = (tmp_path / "r.md").read_text()
    assert "Doubtful registrations (1): A/2" in markdown and "another orientation" in markdown
    assert "error" not in (tmp_path / "r.csv").read_text().splitlines()[0]  # real data: no truth columns
