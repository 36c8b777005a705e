import numpy as np
import pytest

from ramansr.decompose import fit_nmf, fit_pca, transform_nmf


def two_phase_cube(rng, rows=20, cols=24, channels=60, noise=0.01):
    """A cube mixing two known spectra with known abundance maps."""
    axis = np.arange(channels)
    spectra = np.stack([np.exp(-((axis - 15) ** 2) / 20), np.exp(-((axis - 45) ** 2) / 30)])
    _yy, xx = np.mgrid[:rows, :cols]
    first = (np.sin(xx / 3.0) + 1) / 2
    maps = np.stack([first, 1 - first])
    cube = np.einsum("krc,kl->rcl", maps, spectra) + rng.normal(0, noise, (rows, cols, channels))
    return np.clip(cube, 0, None).astype(np.float32), maps


def best_correlation(found, truth):
    return max(abs(np.corrcoef(found.ravel(), t.ravel())[0, 1]) for t in truth)


def test_nmf_recovers_the_abundance_maps():
    cube, truth = two_phase_cube(np.random.default_rng(0))
    maps, spectra, _ = fit_nmf(cube, 2, seed=0)
    assert maps.shape == (2, 20, 24) and maps.dtype == np.float32
    assert spectra.shape == (2, 60)
    for found in maps:
        assert best_correlation(found, truth) > 0.98


def test_the_lr_model_transforms_another_scan_consistently():
    rng = np.random.default_rng(1)
    lr_cube, lr_truth = two_phase_cube(rng)
    hr_cube, hr_truth = two_phase_cube(rng, rows=12, cols=10)
    lr_maps, _, model = fit_nmf(lr_cube, 2, seed=0)
    hr_maps = transform_nmf(model, hr_cube)
    assert hr_maps.shape == (2, 12, 10)
    # component i means the same chemistry in both scans
    for i in range(2):
        lr_match = np.argmax([abs(np.corrcoef(lr_maps[i].ravel(), t.ravel())[0, 1]) for t in lr_truth])
        hr_match = np.argmax([abs(np.corrcoef(hr_maps[i].ravel(), t.ravel())[0, 1]) for t in hr_truth])
        assert lr_match == hr_match


def test_nmf_is_repeatable():
    cube, _ = two_phase_cube(np.random.default_rng(2))
    np.testing.assert_array_equal(fit_nmf(cube, 3, seed=0)[0], fit_nmf(cube, 3, seed=0)[0])


def test_a_convergence_tolerance_stops_early_with_the_same_maps():
    cube, _ = two_phase_cube(np.random.default_rng(4), noise=0.05)
    fixed, _, fixed_model = fit_nmf(cube, 2, seed=0, max_iter=400, tol=0.0)
    stopped, _, stopped_model = fit_nmf(cube, 2, seed=0, max_iter=400, tol=1e-3)
    assert fixed_model.n_iter_ == 400 and stopped_model.n_iter_ < 400
    for found, reference in zip(stopped, fixed, strict=True):
        assert np.corrcoef(found.ravel(), reference.ravel())[0, 1] > 0.999


def test_pca_explains_most_variance_in_its_first_component():
    cube, _ = two_phase_cube(np.random.default_rng(3))
    maps, spectra, explained = fit_pca(cube, 3)
    assert maps.shape == (3, 20, 24) and spectra.shape == (3, 60)
    assert explained[0] > 0.9 and np.all(np.diff(explained) <= 0)


def test_the_hr_cube_goes_on_the_lr_channel_scale():
    """An HR scan of a window whose chemistry differs from the field, collected 3x brighter: its own
    per-channel MinMax would reweight the channels; on the LR scale it is the LR scaling of its counts
    over the ratio of the scans' total counts."""
    from ramansr.decompose import collection_ratio, highres_in_lowres_units
    from ramansr.preprocess import scale_channels, scale_with_range

    rng = np.random.default_rng(7)
    field, _ = two_phase_cube(rng, noise=0.0)
    field = field + 0.2
    window = field[:8, :10] * np.linspace(0.5, 1.5, field.shape[-1])  # other chemistry: channels reweighted
    lowres = dict(zip(("cube", "data_min", "data_max"), scale_channels(field, clip_percentile=100.0), strict=True))
    highres = dict(
        zip(("cube", "data_min", "data_max"), scale_channels(3.0 * window, clip_percentile=100.0), strict=True)
    )
    cube, ratio = highres_in_lowres_units(lowres, highres)
    assert ratio == pytest.approx(collection_ratio(field.mean(axis=(0, 1)), 3.0 * window.mean(axis=(0, 1))), rel=1e-5)
    expected = np.clip(scale_with_range(3.0 * window / ratio, lowres["data_min"], lowres["data_max"]), 0, None)
    np.testing.assert_allclose(cube, expected, rtol=1e-4, atol=1e-4)
    # same chemistry and a plain 3x brighter copy: the ratio is 3 and the cubes agree
    copy = dict(zip(("cube", "data_min", "data_max"), scale_channels(3.0 * field, clip_percentile=100.0), strict=True))
    cube, ratio = highres_in_lowres_units(lowres, copy)
    assert ratio == pytest.approx(3.0, rel=1e-5)
    np.testing.assert_allclose(cube, lowres["cube"], atol=5e-3)  # float32 round trip through narrow channel ranges


def test_the_ratio_is_taken_before_the_baseline_came_off():
    """A removed fluorescence baseline goes back into each scan's mean spectrum: it was collected as Raman light."""
    from ramansr.decompose import mean_spectrum
    from ramansr.preprocess import scale_channels

    field, _ = two_phase_cube(np.random.default_rng(7), noise=0.0)
    scan = dict(zip(("cube", "data_min", "data_max"), scale_channels(field, clip_percentile=100.0), strict=True))
    baseline = np.linspace(1.0, 2.0, field.shape[-1])
    np.testing.assert_allclose(
        mean_spectrum({**scan, "baseline": baseline}), field.mean(axis=(0, 1)) + baseline, rtol=1e-5
    )
