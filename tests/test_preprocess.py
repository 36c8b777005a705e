import numpy as np
import pytest

from ramansr.preprocess import preprocess_cube, scale_channels, scale_with_range, smooth_spectra, unscale_channels


def noisy_band_cube(rng, shape=(6, 5, 200)):
    axis = np.linspace(0, 1, shape[-1])
    band = np.exp(-((axis - 0.5) ** 2) / 0.005)
    amplitude = rng.uniform(1, 3, size=shape[:2])[..., None]
    return (amplitude * band + rng.normal(0, 0.05, size=shape)).astype(np.float32), amplitude * band


def test_smoothing_lowers_noise_and_keeps_the_band():
    cube, clean = noisy_band_cube(np.random.default_rng(0))
    smoothed = smooth_spectra(cube, window_length=15, polyorder=3)
    assert smoothed.dtype == np.float32 and smoothed.shape == cube.shape
    assert np.abs(smoothed - clean).mean() < 0.5 * np.abs(cube - clean).mean()
    assert np.argmax(smoothed[0, 0]) == pytest.approx(100, abs=3)


def test_window_longer_than_the_spectrum_is_an_error():
    with pytest.raises(ValueError, match="exceeds the 8 channels"):
        smooth_spectra(np.zeros((2, 2, 8), np.float32), window_length=11, polyorder=3)


def test_every_channel_is_scaled_to_unit_range_over_pixels():
    cube, _ = noisy_band_cube(np.random.default_rng(1))
    scaled, data_min, data_max = scale_channels(cube)
    pixels = scaled.reshape(-1, cube.shape[-1])
    np.testing.assert_allclose(pixels.min(axis=0), 0, atol=1e-6)
    np.testing.assert_allclose(pixels.max(axis=0), 1, atol=1e-6)
    np.testing.assert_allclose(data_min, cube.reshape(-1, cube.shape[-1]).min(axis=0), rtol=1e-6)
    np.testing.assert_allclose(unscale_channels(scaled, data_min, data_max), cube, atol=1e-5)


def test_scale_with_range_matches_the_fitted_scaling():
    cube, _ = noisy_band_cube(np.random.default_rng(2))
    scaled, data_min, data_max = scale_channels(cube)
    np.testing.assert_allclose(scale_with_range(cube, data_min, data_max), scaled, atol=1e-5)


def test_preprocess_is_smoothing_then_scaling():
    cube, _ = noisy_band_cube(np.random.default_rng(3))
    scaled, _, _ = preprocess_cube(cube, 11, 3)
    expected, _, _ = scale_channels(smooth_spectra(cube, 11, 3))
    np.testing.assert_array_equal(scaled, expected)
