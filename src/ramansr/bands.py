"""Raman bands that more than one stage reads images or peaks from, and the order of component spectra."""

import numpy as np

#: CH-stretch band (rel. 1/cm): the simulator's SNR channel lies in it and the
#: prediction check scores its image by default (config.yaml ``predict: band``).
CH_BAND = (2800.0, 3000.0)


def band_image(scan, band):
    """Sum of a scan's channels inside ``band`` (rel. 1/cm): one Raman band's image.

    Parameters
    ----------
    scan : ramansr.io.Scan
    band : (low, high)

    Returns
    -------
    ndarray, shape (rows, cols)
    """
    channels = (scan.wavenumbers >= band[0]) & (scan.wavenumbers <= band[1])
    if not channels.any():
        raise ValueError(f"{scan.name}: no channel between {band[0]} and {band[1]} rel. 1/cm")
    return scan.cube[:, :, channels].sum(axis=2)


def spectral_centroid(spectra, wavenumbers):
    """Intensity-weighted mean wavenumber of each spectrum.

    Parameters
    ----------
    spectra : array_like, shape (k, channels), non-negative (NMF component spectra)
    wavenumbers : array_like, shape (channels,)

    Returns
    -------
    ndarray of float64, shape (k,): rel. 1/cm.
    """
    spectra = np.asarray(spectra, dtype=np.float64)
    weights = spectra.sum(axis=1)
    return spectra @ np.asarray(wavenumbers, dtype=np.float64) / np.where(weights > 0, weights, 1.0)


def component_channels(spectra, wavenumbers):
    """Each NMF component's place in a chemistry-consistent order: by spectral centroid, ascending.

    NMF numbers an area's components in an order of its own (on the embedded data sample A's come
    out reversed against samples B-F's), so the component index says nothing about chemistry across
    areas or scans. Ranking the components by the centroid of their spectrum puts the same phase in
    the same place wherever the phases' spectra differ in centroid, which a model that sees all of an
    area's maps at once (:data:`ramansr.models.JOINT`) needs; the order needs no reference area, so a
    new scan under ``predict`` is ordered by the same rule.

    Parameters
    ----------
    spectra : array_like, shape (k, channels), non-negative
    wavenumbers : array_like, shape (channels,)

    Returns
    -------
    ndarray of int64, shape (k,): component i's channel (0 = lowest centroid); ties keep NMF order.
    """
    order = np.argsort(spectral_centroid(spectra, wavenumbers), kind="stable")
    channels = np.empty(len(order), dtype=np.int64)
    channels[order] = np.arange(len(order))
    return channels
