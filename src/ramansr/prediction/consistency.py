"""The check of a prediction that needs no HR scan: LR consistency.

A super-resolved map, imaged again by the LR acquisition (the LR objective's
PSF, then point sampling at the LR step), should give back the measured LR
map. It is the one check a user can run on an LR-only scan.

Grid convention (:mod:`ramansr.register`): SR pixel ``j`` sits at LR point
``(j + 0.5) / factor - 0.5``, so LR point ``p`` is SR pixel
``factor * p + (factor - 1) / 2``, between two pixels for an even factor.
"""

import sys

import numpy as np
from skimage.metrics import peak_signal_noise_ratio

from ramansr.metrics import DATA_RANGE
from ramansr.optics import reimage_lowres


def lowres_consistency(sr_maps, lowres_maps, factor, **imaging):
    """How well each re-imaged SR map reproduces its measured LR map.

    Parameters
    ----------
    sr_maps : ndarray, (k, factor h, factor w)
    lowres_maps : ndarray, (k, h, w)
        On the same scale as ``sr_maps`` (both normalised with the LR map's (low, high)).
    factor : int
    **imaging
        ``lowres_step_um``, ``na``, ``wavelength_um`` of :func:`reimage_lowres`.

    Returns
    -------
    psnr : ndarray of float64, (k,)
        PSNR (dB) of the re-imaged SR map against the LR map, data_range
        ``ramansr.metrics.DATA_RANGE`` (1: SR and LR maps are both normalised
        with the LR map's (low, high)).
    residual : ndarray of float32, (k, h, w)
        Re-imaged SR map minus LR map.
    """
    lowres_maps = np.asarray(lowres_maps, dtype=np.float64)
    reimaged = reimage_lowres(sr_maps, factor, **imaging)
    if reimaged.shape != lowres_maps.shape:
        raise ValueError(f"SR maps re-imaged to {reimaged.shape}, but the LR maps are {lowres_maps.shape}")
    psnr = np.array(
        [peak_signal_noise_ratio(lr, sr, data_range=DATA_RANGE) for lr, sr in zip(lowres_maps, reimaged, strict=True)]
    )
    return psnr, (reimaged - lowres_maps).astype(np.float32)


def far_below(consistency, reference, margin_db):
    """Which consistencies lie far below a reference set (the test areas').

    "Far below" means under the reference's minimum minus ``margin_db``: the
    test areas show the spread that predictions of a working model have, and
    the margin keeps a prediction just outside that small sample's range from
    being flagged.

    Parameters
    ----------
    consistency : array-like of float
        PSNR (dB) values to judge.
    reference : array-like of float
        The test areas' PSNR (dB) values; empty: nothing is flagged.
    margin_db : float

    Returns
    -------
    ndarray of bool, ``consistency``'s shape
    """
    consistency, reference = np.asarray(consistency, dtype=float), np.asarray(reference, dtype=float)
    if reference.size == 0:
        return np.zeros(consistency.shape, dtype=bool)
    return consistency < reference.min() - margin_db


def lowres_step(pixel_size_um):
    """One step (um) for the LR PSF: the geometric mean of a scan's (row, column) steps (equal in most scans)."""
    return float(np.sqrt(pixel_size_um[0] * pixel_size_um[1]))


def scan_imaging(pixel_size_um, *, na, excitation_nm):
    """The LR imaging of a scan, as :func:`ramansr.optics.reimage_lowres`'s keywords (less ``factor``).

    The one source of the optics a prediction images its SR maps with: the LR consistency
    (:func:`scan_consistency`) and the uncertainty's bootstrap (:mod:`ramansr.prediction.trust`).

    Parameters
    ----------
    pixel_size_um : (row step, column step) or None
        The LR scan's; None (a scan without pixel size): point sampling only, no PSF.
    na, excitation_nm : float
        The LR objective's numerical aperture and the laser wavelength (nm).

    Returns
    -------
    dict
        ``lowres_step_um``, ``na``, ``wavelength_um``.
    """
    return {
        "lowres_step_um": None if pixel_size_um is None else lowres_step(pixel_size_um),
        "na": na,
        "wavelength_um": excitation_nm / 1e3,
    }


def scan_consistency(predicted_maps, lowres_maps, factor, pixel_size_um, *, na, excitation_nm, name):
    """:func:`lowres_consistency` of one scan's prediction, at the scan's pixel size; the PSNRs go to the log.

    Parameters
    ----------
    predicted_maps, lowres_maps, factor
        As :func:`lowres_consistency`.
    pixel_size_um : (row step, column step) or None
        The LR scan's; None (a scan without pixel size) checks point sampling only.
    na, excitation_nm : float
        The LR objective's numerical aperture and the laser wavelength (nm).
    name : str
        How the log names the scan.

    Returns
    -------
    psnr, residual : ndarray
        As :func:`lowres_consistency`.
    summary : dict
        ``psnr`` (a list), ``data_range``, ``na``, ``excitation_nm`` and ``psf`` (what blurred the maps).
    """
    psnr, residual = lowres_consistency(
        predicted_maps, lowres_maps, factor, **scan_imaging(pixel_size_um, na=na, excitation_nm=excitation_nm)
    )
    psf = "none: the scan has no pixel size" if pixel_size_um is None else "Airy"
    print(
        f"{name}: LR consistency (re-imaged SR maps against the LR maps, PSNR, data_range 1, PSF {psf}, "
        f"NA {na:g}, {excitation_nm:g} nm): " + ", ".join(f"{value:.2f}" for value in psnr) + " dB",
        file=sys.stderr,
    )
    summary = {
        "psnr": [float(value) for value in psnr],
        "data_range": DATA_RANGE,
        "na": na,
        "excitation_nm": excitation_nm,
        "psf": psf,
    }
    return psnr, residual, summary
