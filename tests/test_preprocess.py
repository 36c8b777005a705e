import numpy as np
import pytest
from spectra_helpers import chain_settings

from ramansr import preprocess
from ramansr.decompose import fit_nmf
from ramansr.preprocess import (
    despike,
    preprocess_cube,
    scale_channels,
    scale_with_range,
    smooth_spectra,
    unscale_channels,
)


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
    scaled, data_min, data_max = scale_channels(cube, clip_percentile=100.0)
    pixels = scaled.reshape(-1, cube.shape[-1])
    np.testing.assert_allclose(pixels.min(axis=0), 0, atol=1e-6)
    np.testing.assert_allclose(pixels.max(axis=0), 1, atol=1e-6)
    np.testing.assert_allclose(data_min, cube.reshape(-1, cube.shape[-1]).min(axis=0), rtol=1e-6)
    np.testing.assert_allclose(unscale_channels(scaled, data_min, data_max), cube, atol=1e-5)


def test_scale_with_range_matches_the_fitted_scaling():
    cube, _ = noisy_band_cube(np.random.default_rng(2))
    scaled, data_min, data_max = scale_channels(cube, clip_percentile=100.0)
    np.testing.assert_allclose(scale_with_range(cube, data_min, data_max), scaled, atol=1e-5)


def test_preprocess_is_smoothing_then_scaling():
    cube, _ = noisy_band_cube(np.random.default_rng(3))
    scaled, _, _, record = preprocess_cube(
        cube, np.arange(cube.shape[-1], dtype=float), chain_settings(11, 3), name="scan"
    )
    assert record["spikes"] == 0 and record["offset"] == 0.0 and not record["baseline"].any()
    expected, _, _ = scale_channels(smooth_spectra(cube, window_length=11, polyorder=3), clip_percentile=100.0)
    np.testing.assert_array_equal(scaled, expected)


# --------------------------------------------------------------------------- despiking and the percentile clip


@pytest.fixture(scope="module")
def spiky_scans():
    """Simulated LR and HR scans of two samples with many cosmic rays, the same scans without them, and the spikes.

    The simulator draws the spikes after the noise from the same generator, so the spike-free scans
    are the spiky ones minus their spikes, exactly.
    """
    from ramansr.simulate import simulate_area

    base = {"seed": 11, "samples": ["A", "F"], "lowres": {"points": 32}, "highres": {"points": 32}, "channels": 600}
    scans = []
    for sample in ("A", "F"):
        spiky = simulate_area({**base, "spikes": {"enabled": True, "rate": 0.08}}, sample, 1)
        clean = simulate_area(base, sample, 1)
        for index, which in enumerate(("lowres", "highres")):
            scans.append((spiky[index].cube, clean[index].cube, spiky[2][f"{which}_spikes"]))
    return scans


def test_despike_finds_the_spikes_and_leaves_the_rest(spiky_scans):
    """At least 98.5 % of the injected spikes are found and under 0.1 % of the spike-free channels change.

    At the default threshold (4.0) this data gives 98.8 % (99.3 % from the ideal detector, before the
    fluorescence under the fingerprint raised the shot noise there); the misses are mostly 200-300 e- spikes
    on a bright HR band (7-8 noise sigma), or next to a pixel flagged at the same channel.
    """
    found_total = injected = changed = spike_free = 0
    for spiky, clean, table in spiky_scans:
        despiked, found = despike(spiky, threshold=4.0)
        near = np.zeros(spiky.shape, bool)  # a spike and the two channels it may spill into
        for row, col, channel, _ in table:
            row, col, channel = int(row), int(col), int(channel)
            near[row, col, max(channel - 1, 0) : channel + 2] = True
            found_total += found[row, col, max(channel - 1, 0) : channel + 2].any()
        injected += len(table)
        changed += np.count_nonzero((despiked != spiky) & ~near)
        spike_free += np.count_nonzero(~near)
        # where a spike was, the despiked value is back near the spike-free one (to within the noise and
        # the interpolation across a band: typically a few % of a spike's height)
        assert np.median(np.abs(despiked - clean)[near]) < 0.05 * np.median(table[:, 3])
    assert injected > 200
    assert found_total / injected >= 0.985
    assert changed / spike_free < 1e-3


def test_despike_changes_almost_nothing_in_a_spike_free_scan(spiky_scans):
    # over the four scans 0.06 %; the HR scan of sample F (the strongest phase contrast) alone 0.2 %
    changed = total = 0
    for _, clean, _ in spiky_scans:
        despiked, _ = despike(clean, threshold=4.0)
        changed += np.count_nonzero(despiked != clean)
        total += clean.size
        assert np.count_nonzero(despiked != clean) / clean.size < 3e-3
    assert changed / total < 1e-3


def test_nmf_maps_after_despiking_match_the_spike_free_scans(spiky_scans):
    """Tolerance: every component map correlates above 0.99 with the spike-free scan's, within 5 % mean error."""
    spiky, clean, _ = spiky_scans[2]  # sample F, LR: the larger domains
    maps = {}
    for name, cube, threshold in (("clean", clean, None), ("despiked", spiky, 4.0), ("spiky", spiky, None)):
        settings = chain_settings(7, 2, despike=threshold, clip_percentile=99.9)
        scaled = preprocess_cube(cube, np.arange(cube.shape[-1], dtype=float), settings, name=name)[0]
        maps[name] = fit_nmf(scaled, 3, seed=0, max_iter=300)[0]
    for name, tolerance in (("despiked", 0.99), ("spiky", None)):
        correlations = [
            max(np.corrcoef(found.ravel(), reference.ravel())[0, 1] for reference in maps["clean"])
            for found in maps[name]
        ]
        if tolerance is not None:
            assert min(correlations) > tolerance, correlations
    order = [int(np.argmax([np.corrcoef(f.ravel(), r.ravel())[0, 1] for r in maps["clean"]])) for f in maps["despiked"]]
    for found, reference in zip(maps["despiked"], maps["clean"][order], strict=True):
        assert np.abs(found - reference).mean() < 0.05 * np.abs(reference).mean()


def test_one_outlier_pixel_does_not_set_a_channels_range():
    rng = np.random.default_rng(3)
    cube = rng.uniform(10.0, 20.0, size=(40, 40, 5)).astype(np.float32)
    cube[7, 9, 2] = 10_000.0  # a hot pixel in channel 2
    plain, _, plain_max = scale_channels(cube, clip_percentile=100.0)
    clipped, _, clipped_max = scale_channels(cube, clip_percentile=99.9)
    others = np.ones((40, 40), bool)
    others[7, 9] = False
    assert plain[..., 2][others].max() < 0.01  # plain min-max squeezes every other pixel towards 0
    assert clipped[..., 2][others].max() == pytest.approx(1.0) and clipped[7, 9, 2] == 1.0
    assert clipped_max[2] < 20.0 and plain_max[2] == 10_000.0
    # the clip moves only the 0.1 % most extreme pixels of each channel to 0 or 1
    assert np.mean((clipped == 0.0) | (clipped == 1.0)) < 0.005
    with pytest.raises(ValueError, match="clip_percentile"):
        scale_channels(cube, clip_percentile=40.0)


def test_blockwise_steps_equal_the_whole_cube_at_once(monkeypatch):
    # blocks that split the channels and pixels unevenly, spikes in the first and last channel
    rng = np.random.default_rng(5)
    cube = (10 + rng.normal(size=(9, 11, 40))).astype(np.float32)
    cube[2, 3, 0] += 80
    cube[5, 7, -1] += 80
    cube[4, 4, 17] += 80
    whole = (
        despike(cube, threshold=4.0),
        smooth_spectra(cube, window_length=7, polyorder=2),
        scale_channels(cube, clip_percentile=99.0),
    )
    monkeypatch.setattr(preprocess, "CHANNEL_BLOCK", 3)
    monkeypatch.setattr(preprocess, "PIXEL_BLOCK", 7)
    blocks = (
        despike(cube, threshold=4.0),
        smooth_spectra(cube, window_length=7, polyorder=2),
        scale_channels(cube, clip_percentile=99.0),
    )
    assert whole[0][1][2, 3, 0] and whole[0][1][5, 7, -1] and whole[0][1][4, 4, 17]
    # the medians, MADs and percentiles are order statistics: the same bits whatever the blocks
    for expected, actual in zip((whole[0], whole[2]), (blocks[0], blocks[2]), strict=True):
        for expected_array, actual_array in zip(expected, actual, strict=True):
            np.testing.assert_array_equal(expected_array, actual_array)
    # Savitzky-Golay's edge fit is a least-squares solve over the block's pixels at once, whose
    # BLAS kernels may round differently for another number of columns: equal to float32's precision
    np.testing.assert_allclose(blocks[1], whole[1], rtol=1e-6, atol=0)
