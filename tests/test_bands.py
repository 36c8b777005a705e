"""The shared Raman bands and the chemistry-consistent order of components."""

import numpy as np

from ramansr.bands import component_channels, spectral_centroid


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
