"""LR consistency of SR maps and spectral fidelity of cubes, on synthetic data with known answers."""

import numpy as np
import pytest
from skimage.metrics import peak_signal_noise_ratio

from ramansr.optics import airy_otf, reimage_lowres
from ramansr.prediction.check import channel_psnr, map_errors, spectral_angle, spectral_fidelity
from ramansr.prediction.consistency import far_below, lowres_consistency

FACTOR, LR_STEP, NA, WAVELENGTH = 4, 2.0, 0.2, 0.5
LR_POINTS = 16
FREQUENCY = (0.15, 0.1)  # cycles per um along (x, y): well inside the LR PSF's pass band
IMAGING = {"lowres_step_um": LR_STEP, "na": NA, "wavelength_um": WAVELENGTH}
POINT_SAMPLING = {**IMAGING, "lowres_step_um": None}  # a scan without pixel size: no blur


def cosine_field(x, y, contrast=1.0):
    """0.5 + 0.4 contrast cos(2 pi (fx x + fy y)): its image through any PSF is known from the OTF."""
    return 0.5 + 0.4 * contrast * np.cos(2 * np.pi * (FREQUENCY[0] * x + FREQUENCY[1] * y))


def sr_and_lowres_maps():
    """The field at the SR pixels (half-pixel convention) and its LR image: blurred by the LR PSF, at the LR points."""
    sr_points = ((np.arange(FACTOR * LR_POINTS) + 0.5) / FACTOR - 0.5) * LR_STEP
    sr = cosine_field(sr_points[None, :], sr_points[:, None])
    # a cosine goes through the PSF with its amplitude times the OTF at its frequency
    otf = airy_otf((1, 2), 1.0 / np.hypot(*FREQUENCY) / 2, WAVELENGTH, NA)[0, 1]
    lr_points = np.arange(LR_POINTS) * LR_STEP
    lowres = cosine_field(lr_points[None, :], lr_points[:, None], contrast=otf)
    return sr[None], lowres[None], otf


def test_an_sr_map_of_the_true_field_reproduces_its_lr_map():
    sr, lowres, otf = sr_and_lowres_maps()
    assert otf < 0.8  # the blur matters: without it the check would miss the contrast
    psnr, residual = lowres_consistency(sr, lowres, FACTOR, **IMAGING)
    assert residual.shape == lowres.shape
    assert psnr[0] > 45.0
    unblurred, _ = lowres_consistency(sr, lowres, FACTOR, **POINT_SAMPLING)
    assert unblurred[0] < psnr[0] - 15.0


@pytest.mark.parametrize("shift", [(0, 1), (1, 0)])
def test_an_sr_map_shifted_by_one_pixel_is_less_consistent(shift):
    sr, lowres, _ = sr_and_lowres_maps()
    exact, _ = lowres_consistency(sr, lowres, FACTOR, **IMAGING)
    shifted, _ = lowres_consistency(np.roll(sr, shift, axis=(1, 2)), lowres, FACTOR, **IMAGING)
    assert shifted[0] < exact[0] - 10.0


def test_reimaging_samples_the_lr_points_of_the_half_pixel_convention():
    # a ramp along x: no blur changes it inside, and LR point p is SR pixel 4 p + 1.5
    sr = np.tile(np.arange(FACTOR * 6, dtype=float), (FACTOR * 5, 1))[None]
    found = reimage_lowres(sr, FACTOR, **POINT_SAMPLING)
    expected = np.tile(FACTOR * np.arange(6) + 1.5, (5, 1))
    np.testing.assert_allclose(found[0, :, 1:-1], expected[:, 1:-1], atol=1e-3)
    np.testing.assert_allclose(found[0], expected, atol=0.03)  # the spline's edge condition bends a ramp a little
    odd = reimage_lowres(sr[:, :18, :24], 3, **POINT_SAMPLING)  # factor 3: LR point p is SR pixel 3 p + 1 exactly
    np.testing.assert_allclose(odd[0, 0], 3 * np.arange(8) + 1.0, atol=1e-5)


def test_maps_that_are_not_whole_lr_points_are_refused():
    with pytest.raises(ValueError, match="not a whole number of 4x LR points"):
        reimage_lowres(np.zeros((1, 10, 12)), 4, **POINT_SAMPLING)


def test_consistency_far_below_the_test_areas_range_is_flagged():
    reference = [30.0, 33.0, 35.0]
    np.testing.assert_array_equal(far_below([31.0, 27.5, 26.9], reference, margin_db=3.0), [False, False, True])
    assert not far_below([5.0], [], margin_db=3.0).any()


def test_spectral_angle_is_zero_for_identical_or_scaled_spectra_and_known_for_rotated_ones():
    rng = np.random.default_rng(0)
    cube = rng.uniform(0.5, 1.0, (3, 4, 20))
    np.testing.assert_allclose(spectral_angle(cube, cube), 0.0, atol=1e-6)
    np.testing.assert_allclose(spectral_angle(cube, 7.0 * cube), 0.0, atol=1e-6)
    # rotate every spectrum by 30 degrees towards a direction orthogonal to it
    other = rng.normal(size=cube.shape)
    orthogonal = other - np.sum(other * cube, axis=-1, keepdims=True) / np.sum(cube**2, axis=-1, keepdims=True) * cube
    unit = cube / np.linalg.norm(cube, axis=-1, keepdims=True)
    orthogonal /= np.linalg.norm(orthogonal, axis=-1, keepdims=True)
    rotated = np.cos(np.radians(30)) * unit + np.sin(np.radians(30)) * orthogonal
    np.testing.assert_allclose(spectral_angle(cube, 2.0 * rotated), 30.0, atol=1e-6)


def test_channel_psnr_is_skimages_at_each_channel():
    rng = np.random.default_rng(1)
    reference = rng.uniform(0.0, 10.0, (6, 5, 4))
    prediction = reference + rng.normal(0.0, 0.5, reference.shape)
    ranges = np.array([10.0, 5.0, 20.0, 1.0])
    found = channel_psnr(prediction, reference, ranges)
    assert found.shape == (4,)
    expected = peak_signal_noise_ratio(reference[..., 2], prediction[..., 2], data_range=20.0)
    assert found[2] == pytest.approx(expected)
    assert found[0] == pytest.approx(peak_signal_noise_ratio(reference[..., 0], prediction[..., 0], data_range=10.0))


ODD = 3  # an odd factor puts every LR point on an SR pixel: LR maps and cubes are exact subsamples
WINDOW = 24  # HR pixels


def odd_scene():
    """The cosine field on a 3x SR grid, and an HR window's corner at a whole LR point."""
    sr_points = np.arange(ODD * LR_POINTS) * LR_STEP / ODD
    return cosine_field(sr_points[None, :], sr_points[:, None]), (ODD * 2, ODD * 3)


def lr_points(maps):
    """The LR points of SR maps (..., rows, cols)."""
    return maps[..., ODD // 2 :: ODD, ODD // 2 :: ODD]


def test_map_errors_pair_components_and_score_the_calibrated_hr_map():
    field, (x, y) = odd_scene()
    maps = np.stack([field, 1.0 - field**2])
    lowres_maps = lr_points(maps)
    highres = 5.0 * maps[:, y : y + WINDOW, x : x + WINDOW] + 2.0  # another intensity scale
    # the area's decomposition lists the components the other way round
    psnr, matched = map_errors(maps, lowres_maps, lowres_maps[::-1], highres[::-1], (x, y), ODD)
    np.testing.assert_array_equal(matched, [1, 0])
    assert (psnr > 40.0).all()
    worse, _ = map_errors(np.roll(maps, 2, axis=2), lowres_maps, lowres_maps[::-1], highres[::-1], (x, y), ODD)
    assert (worse < psnr - 10.0).all()


def test_spectral_fidelity_of_a_perfect_cube_beats_linear_interpolation():
    field, (x, y) = odd_scene()
    spectra = np.array([[1.0, 0.2, 0.5, 0.1], [0.1, 1.0, 0.3, 0.8]])
    predicted = np.einsum("rc,l->rcl", field, spectra[0]) + np.einsum("rc,l->rcl", 1.0 - field, spectra[1])
    lowres = np.moveaxis(lr_points(np.moveaxis(predicted, -1, 0)), 0, -1)
    measured = 3.0 * predicted[y : y + WINDOW, x : x + WINDOW]  # the HR objective collects 3x the light
    found = spectral_fidelity(predicted, lowres, measured, (x, y), ODD)
    assert found["spectral_angle_deg"]["model"] == pytest.approx(0.0, abs=1e-4)
    assert found["spectral_angle_deg"]["linear"] > 0.1
    assert len(found["channel_psnr"]["model"]) == 4
    assert min(found["channel_psnr"]["model"]) > 40.0
    assert max(found["channel_psnr"]["linear"]) < min(found["channel_psnr"]["model"]) - 10.0
