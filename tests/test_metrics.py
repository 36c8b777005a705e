import numpy as np
import pandas as pd
import pytest

from ramansr.io_utils import save_npz
from ramansr.metrics import (
    MODEL_LABELS,
    border_gaps,
    crop_window,
    frame,
    mean_with_interval,
    paper_layout,
    sample_window,
    score,
    score_predictions,
    score_scales,
    summary_table,
    table_markdown,
    write_tables,
)


def test_crop_window_rounds_and_clamps():
    image = np.arange(100).reshape(10, 10)
    np.testing.assert_array_equal(crop_window(image, (2.4, 3.6), (2, 3)), image[4:6, 2:5])
    assert crop_window(image, (9.0, -2.0), (4, 4)).shape == (4, 4)
    np.testing.assert_array_equal(crop_window(image, (9.0, -2.0), (4, 4)), image[0:4, 6:10])


def smooth(rows, cols):
    """A smooth map as a function of (fractional) pixel position: what a sub-pixel window must give back."""
    return np.sin(0.21 * rows + 0.5) + 0.3 * np.cos(0.13 * cols) + 0.002 * (rows - cols) ** 2


def test_a_window_at_a_whole_pixel_corner_is_the_slice():
    image = np.random.default_rng(0).random((12, 14))
    np.testing.assert_allclose(sample_window(image, (3.0, 5.0), (4, 6)), image[5:9, 3:9], atol=1e-12)
    np.testing.assert_allclose(crop_window(image, (3, 5), (4, 6), subpixel=True), crop_window(image, (3, 5), (4, 6)))


@pytest.mark.parametrize("corner", [(20.4, 13.5), (17.25, 21.75), (0.3, 0.7), (39.6, 39.9), (0.0, 39.5)])
def test_a_window_at_a_fractional_corner_gives_back_the_map_there(corner):
    rows, cols = np.mgrid[0:60, 0:60].astype(np.float64)
    window_rows, window_cols = np.mgrid[0:20, 0:20] + np.array(corner[::-1])[:, None, None]
    window = sample_window(smooth(rows, cols), corner, (20, 20))
    inside = min(corner) >= 8 and max(corner) <= 60 - 20 - 8  # the spline's accuracy; up to the edge, 1e-3
    np.testing.assert_allclose(window, smooth(window_rows, window_cols), atol=1e-5 if inside else 1e-3)


def test_a_cubic_is_given_back_exactly_inside_and_a_ramp_up_to_the_edge():
    rows, cols = np.mgrid[0:40, 0:40].astype(np.float64)
    cubic = lambda r, c: 1e-4 * (r - 7.0) ** 3 - 2e-3 * c**2 + 0.1 * r * c / 40  # noqa: E731
    window_rows, window_cols = np.mgrid[0:12, 0:12] + np.array([14.6, 13.3])[:, None, None]
    np.testing.assert_allclose(
        sample_window(cubic(rows, cols), (13.3, 14.6), (12, 12)), cubic(window_rows, window_cols), atol=1e-9
    )
    # the odd reflection continues a ramp's slope beyond the edge: exact at the corners too
    ramp = 0.3 * rows - 0.2 * cols
    for corner in [(0.4, 0.6), (27.5, 27.9)]:
        window_rows, window_cols = np.mgrid[0:12, 0:12] + np.array(corner[::-1])[:, None, None]
        np.testing.assert_allclose(
            sample_window(ramp, corner, (12, 12)), 0.3 * window_rows - 0.2 * window_cols, atol=1e-4
        )


def test_a_subpixel_window_stays_inside_the_map():
    rows, cols = np.mgrid[0:30, 0:30].astype(np.float64)
    window = crop_window(smooth(rows, cols), (25.3, -4.0), (10, 10), subpixel=True)
    np.testing.assert_allclose(window, smooth(rows, cols)[0:10, 20:30], atol=1e-12)


def test_subpixel_scoring_sees_a_perfect_prediction_that_rounding_misses():
    rows, cols = np.mgrid[0:64, 0:64].astype(np.float64)
    scene = lambda r, c: 0.5 + 0.4 * np.sin(0.6 * r) * np.cos(0.5 * c)  # noqa: E731
    positions = np.array([[20.5, 17.4], [11.2, 30.7]], np.float32)
    window_rows, window_cols = np.mgrid[0:16, 0:16].astype(np.float64)
    windows = np.stack([scene(window_rows + y, window_cols + x) for x, y in positions]).astype(np.float32)
    pairs = {"position": positions, "highres": windows, "factor": 4}
    table = pd.DataFrame(
        {"pair_id": ["a", "b"], "sample": "A", "area": "1", "component": 0, "split": "test"},
    )
    upscaled = np.stack([scene(rows, cols)] * 2)
    rounded = score_predictions("linear", upscaled, pairs, table)
    exact = score_predictions("linear", upscaled, pairs, table, subpixel=True)
    common = lambda scores: scores.loc[scores["scale"] == "common", "psnr"]  # noqa: E731
    assert (common(exact) > 60).all() and (common(rounded) < 30).all()


def test_score_values():
    rng = np.random.default_rng(0)
    reference = rng.random((32, 32))
    assert score(reference, reference)["ssim"] == pytest.approx(1.0)
    noisy = reference + 0.01 * rng.standard_normal(reference.shape)
    # PSNR with data_range 1: -10 log10(MSE), no clipping (the common scale may leave [0, 1])
    expected = -10 * np.log10(np.mean((noisy - reference) ** 2))
    assert score(noisy, reference)["psnr"] == pytest.approx(expected, rel=1e-6)


def test_a_wrong_contrast_scores_well_per_map_but_not_on_the_common_scale():
    rng = np.random.default_rng(3)
    reference = 0.2 + 0.3 * rng.random((32, 32))
    # the right structure with a lifted background and half the contrast, as a per-map-normalised model gives
    lifted = 0.5 + 0.5 * (reference - 0.2)
    scores = score_scales(lifted, reference)
    assert scores["minmax"]["psnr"] > 100 and scores["minmax"]["ssim"] == pytest.approx(1.0)
    assert scores["common"]["psnr"] < 15 and scores["common"]["ssim"] < 0.9


def test_bootstrap_interval_contains_the_mean():
    values = np.random.default_rng(1).normal(25, 2, size=20)
    mean, low, high = mean_with_interval(values)
    assert low < mean < high
    assert mean == pytest.approx(values.mean())
    assert mean_with_interval([3.0, 3.0]) == (3.0, 3.0, 3.0)


def fake_pairs(n=4, size=8):
    rng = np.random.default_rng(2)
    highres = rng.random((n, size, size)).astype(np.float32)
    pairs = {
        "lowres": rng.random((n, size, size)).astype(np.float32),
        "highres": highres,
        "highres_clean": np.clip(highres + 0.01, 0, 1),
        "position": np.tile([[5.0, 9.0]], (n, 1)).astype(np.float32),
        "pair_id": np.array([f"A_1_c{i}" for i in range(n)]),
    }
    table = pd.DataFrame(
        {
            "pair_id": pairs["pair_id"],
            "sample": "A",
            "area": "1",
            "component": range(n),
            "X": 5.0,
            "Y": 9.0,
            "split": ["train", "train", "test", "test"][:n],
        }
    )
    return pairs, table


def test_a_perfect_prediction_scores_infinite_psnr_on_the_window():
    pairs, table = fake_pairs()
    upscaled = np.zeros((4, 32, 32), np.float32)
    upscaled[:, 9:17, 5:13] = pairs["highres"]
    scores = score_predictions("linear", upscaled, pairs, table)
    measured = scores[scores["reference"] == "measured"]
    assert len(scores) == 16 and set(scores["scale"]) == {"common", "minmax"}
    assert np.isinf(measured["psnr"]).all() and (measured["ssim"] > 0.999).all()
    clean = scores[scores["reference"] == "clean"]
    assert (clean.loc[clean["scale"] == "common", "psnr"] < 100).all()


def test_summary_table_layout_follows_the_paper_order():
    rows = [
        {"model": m, "split": "test", "reference": "measured", "scale": "common", "psnr": 20.0 + i + j, "ssim": 0.8}
        for i, m in enumerate(["srresnet", "linear", "rcan"])
        for j in range(3)
    ]
    summary = summary_table(pd.DataFrame(rows), "test")
    assert list(dict.fromkeys(summary["model"])) == ["linear", "rcan", "srresnet"]
    linear = summary[(summary["model"] == "linear") & (summary["metric"] == "PSNR (dB)")].iloc[0]
    assert linear["mean"] == pytest.approx(22.0) and linear["n"] == 3
    wide = paper_layout(summary.assign(reference="measured", scale="common"))
    assert list(wide.columns) == [MODEL_LABELS[m] for m in ("linear", "rcan", "srresnet")]
    assert wide.loc[("measured", "common", "PSNR (dB)", "mean"), "SRResNet"] == pytest.approx(21.0)
    markdown = table_markdown(summary, "Test")
    assert "| PSNR (dB) | 22.00" in markdown and "Linear interpolation" in markdown


def test_write_tables(tmp_path):
    pairs, table = fake_pairs()
    save_npz(tmp_path / "pairs.npz", **pairs)
    table.to_csv(tmp_path / "split.csv", index=False)
    for model in ("linear", "srresnet"):
        upscaled = np.full((4, 32, 32), 0.5, np.float32)
        score_predictions(model, upscaled, pairs, table).to_csv(tmp_path / f"{model}.csv", index=False)
    outputs = {k: tmp_path / f"{k}.out" for k in ("train", "test", "train_md", "test_md", "per_image")}
    write_tables(
        [tmp_path / "linear.csv", tmp_path / "srresnet.csv"], tmp_path / "pairs.npz", tmp_path / "split.csv", outputs
    )
    test = pd.read_csv(outputs["test"], index_col=[0, 1, 2, 3])
    assert list(test.columns) == ["Linear interpolation", "SRResNet", "Measured HR (ceiling)"]
    assert np.isnan(test.loc[("measured", "common", "PSNR (dB)", "mean"), "Measured HR (ceiling)"])
    assert set(test.index.get_level_values("reference")) == {"measured", "clean"}
    assert set(test.index.get_level_values("scale")) == {"common", "minmax"}
    assert np.isfinite(test.drop(columns="Measured HR (ceiling)").to_numpy()).all()
    per_image = pd.read_csv(outputs["per_image"])
    assert "measured_hr" in set(per_image["model"])  # the ceiling, from the clean truth
    markdown = outputs["test_md"].read_text()
    assert "paper's Table II" in markdown and "28.93" in markdown
    assert "on the LR map's scale" in markdown and "min-max normalised on its own" in markdown


def test_the_frame_is_what_a_map_adds_at_its_border_beyond_bicubic():
    rows, cols = np.mgrid[0:32, 0:32]
    bicubic = (rows + 2 * cols) / 93.0  # a ramp: its own gaps, but no frame
    np.testing.assert_allclose(border_gaps(bicubic, 4), np.array([-4, 4, -8, 8]) / 93.0)
    assert frame(bicubic, bicubic, 4) == 0.0
    framed = bicubic.copy()
    framed[:4] -= 0.1  # the top LR pixel's strip 0.1 dark
    framed[:, -4:] -= 0.2
    # top -0.1, right -0.2; the strips they cross on the other sides darken as much as the strips inside those
    assert frame(framed, bicubic, 4) == pytest.approx((-0.1 - 0.2) / 4)


def test_the_tables_report_the_frame_on_the_common_scale(tmp_path):
    pairs, table = fake_pairs()
    pairs["factor"] = np.array(4)
    bicubic = np.full((4, 32, 32), 0.5, np.float32)
    dark = bicubic.copy()
    dark[:, :4], dark[:, -4:], dark[:, :, :4], dark[:, :, -4:] = 0.4, 0.4, 0.4, 0.4
    scores = score_predictions("srcnn", dark, pairs, table, bicubic=bicubic)
    common = scores["scale"] == "common"
    # every side: its strip 0.1 dark, the strip inside it dark where the neighbouring sides' strips cross it
    np.testing.assert_allclose(scores.loc[common, "frame"], -0.1 + 0.1 * 8 / 32)
    assert scores.loc[~common, "frame"].isna().all()
    summary = summary_table(scores, "test", "measured", "common")
    row = summary[summary["metric"].str.startswith("Frame")].iloc[0]
    assert row["mean"] == pytest.approx(scores.loc[common, "frame"].iloc[0]) and row["n"] == 2
    assert not summary_table(scores, "test", "measured", "minmax")["metric"].str.startswith("Frame").any()
    assert "| Frame" in table_markdown(summary, "Test")
