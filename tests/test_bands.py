"""The shared Raman bands: the config's default prediction band is the package's CH band."""

from pathlib import Path

import numpy as np
import yaml

from ramansr.bands import CH_BAND, component_channels, spectral_centroid

ROOT = Path(__file__).resolve().parents[1]


def test_default_config_checks_predictions_at_the_ch_band():
    config = yaml.safe_load((ROOT / "config.yaml").read_text())
    assert tuple(config["predict"]["band"]) == CH_BAND


def test_components_are_ordered_by_spectral_centroid_whatever_nmfs_order():
    wavenumbers = np.linspace(500.0, 3500.0, 301)
    peaks = [3200.0, 1000.0, 2900.0]  # an OH-like, a fingerprint and a CH-like component, NMF's order
    spectra = np.stack([np.exp(-(((wavenumbers - peak) / 60.0) ** 2)) for peak in peaks])
    np.testing.assert_allclose(spectral_centroid(spectra, wavenumbers), peaks, atol=1.0)
    np.testing.assert_array_equal(component_channels(spectra, wavenumbers), [2, 0, 1])
    # the same phases in another order, as another area's NMF returns them, land in the same channels
    shuffled = [1, 2, 0]
    channels = component_channels(spectra[shuffled], wavenumbers)
    np.testing.assert_array_equal(channels, component_channels(spectra, wavenumbers)[shuffled])
