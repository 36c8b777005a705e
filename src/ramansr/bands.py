"""Raman bands that more than one stage reads images or peaks from."""

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
