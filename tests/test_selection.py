import numpy as np
from scipy.ndimage import gaussian_filter

from ramansr.selection import radial_power_spectrum, select_components, spectral_snr_db

#: The Fourier test's bands (cycles per pixel), as config.yaml's select: gives them.
BANDS = {"low_band": (0.0, 0.1), "noise_band": (0.3, 0.5)}


def domains(rng, size=64, sigma=4, noise=0.05):
    field = gaussian_filter(rng.normal(size=(size, size)), sigma)
    field = (field - field.min()) / np.ptp(field)
    return field + rng.normal(0, noise, field.shape)


def test_white_noise_scores_near_zero_db():
    rng = np.random.default_rng(0)
    scores = [spectral_snr_db(rng.normal(size=(64, 64)), **BANDS) for _ in range(5)]
    assert all(abs(s) < 3 for s in scores)


def test_domains_score_far_above_noise():
    assert spectral_snr_db(domains(np.random.default_rng(1)), **BANDS) > 20


def test_power_spectrum_frequencies():
    power, frequency = radial_power_spectrum(np.ones((8, 8)))
    assert power.shape == frequency.shape == (8, 8)
    assert frequency[0, 0] == 0 and frequency.max() <= np.sqrt(0.5)
    np.testing.assert_allclose(power, 0, atol=1e-20)  # a constant map has no power once its mean is removed


def test_a_component_is_kept_only_when_both_maps_have_signal():
    rng = np.random.default_rng(2)
    signal, noise = domains(rng), rng.normal(size=(64, 64))
    lr = np.stack([signal, signal, noise])
    hr = np.stack([domains(rng), rng.normal(size=(64, 64)), domains(rng)])
    decisions = select_components(lr, hr, min_snr_db=10, **BANDS, min_hr_contrast=0.1, window=((0, 0), 1))
    assert [d["keep"] for d in decisions] == [True, False, False]
    assert decisions[1]["lr_snr_db"] > 10 > decisions[1]["hr_snr_db"]


def test_an_hr_map_far_below_its_lr_map_has_collapsed():
    """On the LR maps' scale: a faint copy (2 % of the contrast) collapsed; a half-contrast one did not;
    a blank window where the LR map is flat under the window too (one phase) is no collapse."""
    rng = np.random.default_rng(4)
    lr = domains(rng, size=64)
    window = ((0, 0), 1)
    hr = lr[:32, :32]
    decisions = select_components(
        np.stack([lr, lr]), np.stack([0.02 * hr, 0.5 * hr]), min_snr_db=10, **BANDS, min_hr_contrast=0.1, window=window
    )
    assert [d["collapsed"] for d in decisions] == [True, False]
    assert decisions[0]["hr_lr_contrast"] < 0.1 < decisions[1]["hr_lr_contrast"]
    one_phase = lr.copy()
    one_phase[:32, :32] = 0.5  # the window's corner lies in one flat phase
    flat = np.full((32, 32), 0.001, np.float32) + rng.normal(0, 1e-4, (32, 32))
    (decision,) = select_components(
        one_phase[None], flat[None], min_snr_db=10, **BANDS, min_hr_contrast=0.1, window=window
    )
    assert not decision["collapsed"]
    assert not decisions[0]["keep"] and decisions[0]["reason"].startswith("HR map collapsed: its contrast is 0.0")
