"""The bootstrap uncertainty and its conformal calibration (ramansr.uncertainty), on cases with a known answer."""

import functools
import json

import numpy as np
import pytest
from scipy import ndimage
from scipy.stats import t
from test_train import tiny_settings, write_synthetic_pairs

from ramansr.optics import reimage_lowres
from ramansr.train import train_model
from ramansr.uncertainty.bootstrap import (
    PARTS,
    bootstrap_draws,
    gradient_magnitude,
    group_elements,
    noise_level,
    spread,
    transform,
    untransform,
)
from ramansr.uncertainty.calibration import (
    calibrate,
    combine,
    conformal_quantile,
    hr_noise_variance,
    map_uncertainty,
    predicted_rmse,
)
from ramansr.uncertainty.stages import calibrate_model_file

FACTOR, LOWRES = 4, 24
# point sampling at the LR points (no PSF): a linear interpolation undoes it exactly on a plane
SAMPLE = functools.partial(reimage_lowres, factor=FACTOR, lowres_step_um=None, na=0.5, wavelength_um=0.532)


def interpolate(lowres_maps):
    """Linear interpolation at the SR pixels' LR coordinates ((j + 0.5) / factor - 0.5): exact on a plane."""
    h, w = lowres_maps.shape[1:]
    rows = (np.arange(FACTOR * h) + 0.5) / FACTOR - 0.5
    cols = (np.arange(FACTOR * w) + 0.5) / FACTOR - 0.5
    grid = np.meshgrid(rows, cols, indexing="ij")
    return np.stack([ndimage.map_coordinates(m, grid, order=1, mode="nearest") for m in lowres_maps]).astype(np.float32)


def plane():
    """A tilted plane on the SR grid, (1, 96, 96), and its LR map."""
    rows, cols = np.mgrid[0 : FACTOR * LOWRES, 0 : FACTOR * LOWRES] / (FACTOR * LOWRES)
    truth = (0.2 + 0.3 * rows + 0.4 * cols)[None].astype(np.float32)
    return truth, SAMPLE(truth)


def centre_disk(shape, radius):
    """A disk at the map's centre (unchanged by quarter turns and mirrors), as a boolean mask."""
    rows, cols = np.mgrid[0 : shape[0], 0 : shape[1]]
    return np.hypot(rows - (shape[0] - 1) / 2, cols - (shape[1] - 1) / 2) < radius


INTERIOR = (slice(None), slice(2 * FACTOR, -2 * FACTOR), slice(2 * FACTOR, -2 * FACTOR))


def test_transform_is_undone():
    maps = np.random.default_rng(0).random((2, 8, 12))
    for turns, mirror, shift in group_elements(4, 128):
        back = untransform(transform(maps, turns, mirror, shift), turns, mirror, shift)
        inner = (slice(None), slice(4, -4), slice(4, -4))
        np.testing.assert_array_equal(back[inner], maps[inner])
    assert len({(t, m, s) for t, m, s in group_elements(4, 1000)}) == 8 * 16


def test_noise_level_of_a_noisy_plane():
    truth, _ = plane()
    noisy = truth + 0.02 * np.random.default_rng(1).standard_normal(truth.shape)
    assert noise_level(noisy)[0] == pytest.approx(0.02, rel=0.05)
    assert noise_level(truth)[0] < 1e-6


def test_exact_model_intervals_shrink_to_the_noise():
    """A model exact on the specimen: the draws spread only by the noise they are given (the LR map's), and none
    without it."""
    _, lowres = plane()
    widths = {}
    for sigma in (0.0, 0.001, 0.01):
        noisy = lowres + sigma * np.random.default_rng(2).standard_normal(lowres.shape).astype(np.float32)
        sr = interpolate(noisy)
        draws = bootstrap_draws(sr, noisy, interpolate, SAMPLE, draws=32, seed=0, noise_scale=1.0)
        widths[sigma] = spread(sr, draws)[INTERIOR].mean()
    assert widths[0.0] < 1e-5
    # linear interpolation of noise keeps 0.5-1x its std (1 at the LR points); the draws add the estimate's too
    assert 0.5 * 0.01 < widths[0.01] < 1.5 * 0.01
    assert widths[0.01] / widths[0.001] == pytest.approx(10, rel=0.2)


def test_bias_in_one_region_is_its_uncertainty():
    """A model that adds 0.1 in a central disk: each draw adds it once more, so the spread there is 0.1, else 0.

    (To the re-imaging spline's ringing at the disk's edge.)"""
    truth, lowres = plane()
    disk = centre_disk(truth.shape[1:], 30)

    def biased(maps):
        return interpolate(maps) + 0.1 * disk

    sr = biased(lowres)
    u = spread(sr, bootstrap_draws(sr, lowres, biased, SAMPLE, draws=16, seed=0))[0]
    inside, outside = centre_disk(disk.shape, 26), ~centre_disk(disk.shape, 38)
    outside[:8], outside[-8:], outside[:, :8], outside[:, -8:] = False, False, False, False
    np.testing.assert_allclose(u[inside], 0.1, atol=1e-3)
    assert u[outside].max() < 1e-5


def test_blur_in_one_region_raises_its_uncertainty():
    """A model that blurs a central disk of a smooth specimen: its uncertainty is several times the rest's.

    Elsewhere the draws spread by the linear interpolation's own error and the noise the estimator
    reads off the specimen's curvature."""
    rng = np.random.default_rng(3)
    specimen = ndimage.gaussian_filter(rng.standard_normal((FACTOR * LOWRES, FACTOR * LOWRES)), 12)
    truth = (specimen / np.ptp(specimen))[None].astype(np.float32)
    lowres = SAMPLE(truth)
    disk = centre_disk(truth.shape[1:], 30)

    def blurring(maps):
        sr = interpolate(maps)
        return np.where(disk, ndimage.gaussian_filter(sr, (0, 4, 4)), sr).astype(np.float32)

    sr = blurring(lowres)
    u = spread(sr, bootstrap_draws(sr, lowres, blurring, SAMPLE, draws=16, seed=0))[0]
    rest = ~centre_disk(disk.shape, 34)
    rest[:8], rest[-8:], rest[:, :8], rest[:, -8:] = False, False, False, False
    assert u[centre_disk(disk.shape, 26)].mean() > 5 * u[rest].mean()  # 6.2x


def test_conformal_quantile_rank():
    scores = np.arange(1.0, 10.0)  # n = 9: the ceil(10 * 0.9) = 9th smallest
    assert conformal_quantile(scores[::-1], 0.9) == 9.0
    assert conformal_quantile(scores, 0.5) == 5.0
    assert conformal_quantile(scores[:4], 0.9) == np.inf


def test_gradient_magnitude_of_a_plane():
    truth, _ = plane()
    gradient = gradient_magnitude(truth)[0]
    np.testing.assert_allclose(gradient[1:-1, 1:-1], 0.5 / (FACTOR * LOWRES), rtol=1e-5)


@pytest.mark.parametrize("level", [0.8, 0.9, 0.95])
def test_conformal_coverage_of_a_known_error_distribution(level):
    """Errors u * t (Student t, 5 degrees of freedom): the calibrated intervals cover ``level`` of new pixels."""
    rng = np.random.default_rng(4)

    def simulate(n):
        u = rng.uniform(0.01, 0.1, n)
        truth = rng.random(n)
        return truth + u * rng.standard_t(5, n), np.stack([u, np.zeros(n)]), truth

    sr, parts, reference = simulate(20_000)
    calibration = calibrate(sr, parts, reference, level)
    # t with 5 degrees of freedom has variance 5/3: the fitted u is sqrt(5/3) times the given one
    assert calibration["weights"]["bootstrap"] == pytest.approx(5 / 3, rel=0.05)
    assert calibration["quantile"] == pytest.approx(t.ppf((1 + level) / 2, 5) / np.sqrt(5 / 3), rel=0.03)
    sr, parts, reference = simulate(50_000)
    u = combine(parts, calibration)
    covered = np.abs(reference - sr) <= calibration["quantile"] * u
    assert abs(covered.mean() - level) < 0.02
    assert predicted_rmse(u.reshape(1, 100, 500))[0] == pytest.approx(np.sqrt(np.mean((reference - sr) ** 2)), rel=0.05)


def test_calibration_finds_the_weights_of_the_parts():
    """Errors of variance 4 b^2 + 0.25 g^2 for parts b and g: the fit gives back 4 and 0.25."""
    rng = np.random.default_rng(5)
    parts = rng.uniform(0.0, 0.1, (2, 200_000))
    sr = np.zeros(parts.shape[1])
    reference = np.sqrt(4 * parts[0] ** 2 + 0.25 * parts[1] ** 2) * rng.standard_normal(parts.shape[1])
    weights = calibrate(sr, parts, reference)["weights"]
    assert list(weights) == list(PARTS)
    assert weights["bootstrap"] == pytest.approx(4, rel=0.05)
    assert weights["gradient"] == pytest.approx(0.25, rel=0.1)


def test_hr_noise_variance_of_noisy_planes():
    truth, _ = plane()
    noisy = truth + 0.02 * np.random.default_rng(6).standard_normal((3, *truth.shape[1:]))
    assert hr_noise_variance(noisy) == pytest.approx(0.02**2, rel=0.1)


@pytest.mark.parametrize("level", [0.8, 0.9])
def test_an_exact_model_is_calibrated_to_the_hr_scans_noise(level):
    """SR maps equal to the specimen, measured HR maps = specimen + noise: the parts weigh nothing, the
    interval is the noise's, and it covers ``level`` of new pixels, flat ones included."""
    rng = np.random.default_rng(7)
    sigma, n = 0.02, 40_000
    parts = np.stack([rng.uniform(0.0, 0.05, n), rng.uniform(0.0, 0.05, n)])
    sr = rng.random(n)
    calibration = calibrate(sr, parts, sr + sigma * rng.standard_normal(n), level, noise_variance=sigma**2)
    assert max(calibration["weights"].values()) < 0.05
    u = combine(parts, calibration)
    np.testing.assert_allclose(u, sigma, rtol=0.01)
    covered = np.abs(sigma * rng.standard_normal(n)) <= calibration["quantile"] * u
    assert abs(covered.mean() - level) < 0.02


def test_the_noise_keeps_flat_pixels_covered_where_the_parts_vanish():
    """Half the pixels with SR error 3 b, half flat (b = 0) with only the HR scan's noise: without the
    noise the flat half's intervals have no width; with it both halves are covered."""
    rng = np.random.default_rng(8)
    sigma, n = 0.01, 40_000
    b = np.where(np.arange(n) < n // 2, rng.uniform(0.02, 0.05, n), 0.0)
    parts = np.stack([b, np.zeros(n)])

    def measured():
        return 3 * b * rng.standard_normal(n) + sigma * rng.standard_normal(n)

    flat = b == 0
    for noise_variance, flat_coverage in ((0.0, (0.0, 0.01)), (sigma**2, (0.85, 1.0))):
        calibration = calibrate(np.zeros(n), parts, measured(), 0.9, noise_variance=noise_variance)
        covered = np.abs(measured()) <= calibration["quantile"] * combine(parts, calibration)
        assert flat_coverage[0] <= covered[flat].mean() <= flat_coverage[1]
    assert covered[~flat].mean() > 0.85


def test_calibration_without_pixels_is_refused():
    with pytest.raises(ValueError, match="no pairs in the calibration splits"):
        calibrate(np.zeros((0, 4, 4)), np.zeros((2, 0, 4, 4)), np.zeros((0, 4, 4)))


def test_map_uncertainty_is_the_calibrated_interval():
    """The biased disk of the test above, with weights 2.25 (bootstrap) and 0 (gradient), quantile 2."""
    truth, lowres = plane()
    disk = centre_disk(truth.shape[1:], 30)

    def biased(maps):
        return interpolate(maps) + 0.1 * disk

    sr = biased(lowres)
    calibration = {
        "level": 0.9,
        "weights": {"bootstrap": 2.25, "gradient": 0.0},
        "quantile": 2.0,
        "draws": 16,
        "noise_scale": 0.0,
    }
    uncertainty, lower, upper = map_uncertainty(sr, lowres, biased, SAMPLE, calibration)
    inside = centre_disk(disk.shape, 26)
    np.testing.assert_allclose(uncertainty[0][inside], 0.15, atol=1.5e-3)
    np.testing.assert_allclose((upper - lower)[0][inside], 0.6, atol=6e-3)
    np.testing.assert_allclose((upper + lower) / 2, sr, atol=1e-6)


@pytest.mark.parametrize(
    ("calibrate_on", "val_rows", "calibration_maps"),
    [(["train", "val"], True, 9), (["val"], True, 2), (["train", "val"], False, 9), (["val"], False, 0)],
)
def test_the_stage_calibrates_on_the_pairs_of_its_splits(tmp_path, calibrate_on, val_rows, calibration_maps):
    """7 train, 2 val and 1 test pair of 16 x 16 windows; without val rows (a cross-validation fold
    whose other sample has one area) the val pairs train, and [val] alone cannot calibrate."""
    import pandas as pd

    pairs_path, split_path = write_synthetic_pairs(tmp_path)
    if not val_rows:
        split = pd.read_csv(split_path)
        split.loc[split["split"] == "val", "split"] = "train"
        split.to_csv(split_path, index=False)
    train_model("linear", pairs_path, split_path, tmp_path / "linear", tiny_settings(model={}))
    settings = {"level": 0.9, "draws": 4, "noise_scale": 0.0, "calibrate_on": calibrate_on}
    outputs = {"calibration": tmp_path / "calibration.json", "scores": tmp_path / "scores.csv"}
    calibrate_model_file("linear", tmp_path / "linear" / "best.pt", pairs_path, split_path, settings, outputs)
    calibration = json.loads(outputs["calibration"].read_text())
    scores = pd.read_csv(outputs["scores"])
    assert calibration["calibrated_on"] == calibrate_on and calibration["pixels"] == calibration_maps * 16 * 16
    assert scores["pair_id"].tolist() == ["s_a9_c0"] and scores["true_rmse"].gt(0).all()
    if calibration_maps:
        assert calibration["quantile"] > 0 and scores["predicted_rmse"].gt(0).all()
    else:
        assert calibration["quantile"] is None and scores[["predicted_rmse", "coverage"]].isna().all(axis=None)


@pytest.mark.parametrize("calibrate_on", [[], ["test"], ["val", "val"]])
def test_the_config_refuses_calibration_splits_that_are_not_train_or_val(calibrate_on):
    """Calibrating on the test pairs would score the intervals on their own calibration."""
    from pathlib import Path

    import yaml
    from snakemake.exceptions import WorkflowError
    from snakemake.utils import validate

    repo = Path(__file__).resolve().parents[1]
    config = yaml.safe_load((repo / "config.yaml").read_text())
    schema = repo / "workflow" / "schemas" / "config.schema.yaml"
    validate(config, schema)
    assert config["uncertainty"]["calibrate_on"] == ["train", "val"]
    config["uncertainty"]["calibrate_on"] = calibrate_on
    with pytest.raises(WorkflowError, match="calibrate_on"):
        validate(config, schema)
