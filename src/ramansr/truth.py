"""The truth behind a simulated area: its file format and the noise-free scans it implies.

The simulator (:mod:`ramansr.simulate`) writes one truth file per area; the
decompose and register stages read it to score against the truth. A truth
dict holds the HR window's geometry, the clean abundance maps of both scans
(phases, rows, cols), the phase spectra, the per-scan intensity scale and
drift, the noise settings and the resolved simulation settings (JSON); see
:func:`ramansr.simulate.simulate_area` for every key. This module needs no
part of the simulator, so reading a truth file does not import it.
"""

import numpy as np

from ramansr.io_utils import ROWS_PER_BLOCK, save_npz


def _model_cube(abundance, spectra, scale_map):
    """``scale_map * sum_k abundance_k * spectra_k`` as float32 (rows, cols, channels)."""
    cube = np.zeros(abundance.shape[1:] + spectra.shape[1:], dtype=np.float32)
    spectra = spectra.astype(np.float32)
    for start in range(0, len(cube), ROWS_PER_BLOCK):
        rows = slice(start, start + ROWS_PER_BLOCK)
        for phase_map, spectrum in zip(abundance[:, rows], spectra, strict=True):
            cube[rows] += phase_map[..., None].astype(np.float32) * spectrum
        cube[rows] *= scale_map[rows, :, None].astype(np.float32)
    return cube


def clean_cube(truth, which):
    """Noise-free scan behind a simulated scan.

    Abundances x (phase spectra + fluorescence) x intensity scale x drift:
    everything but the shot/read noise and the cosmic-ray spikes.

    Parameters
    ----------
    truth : dict
        From :func:`ramansr.simulate.simulate_area` or :func:`read_truth`.
    which : {"lowres", "highres"}

    Returns
    -------
    cube : ndarray of float32, shape (rows, cols, channels)
    """
    if which not in ("lowres", "highres"):
        raise ValueError(f"which must be 'lowres' or 'highres', not {which!r}")
    spectra = np.asarray(truth["spectra"], np.float64) + np.asarray(truth["baseline_spectra"], np.float64)
    scale_map = truth[f"{which}_scale"] * np.asarray(truth[f"{which}_drift"], np.float64)
    return _model_cube(np.asarray(truth[f"{which}_abundance"]), spectra, scale_map)


def write_truth(truth, path):
    """Write a truth dict as a deterministic .npz (atomic): lists of str become str arrays."""
    arrays = {}
    for key, value in truth.items():
        if isinstance(value, (list, tuple)) and value and isinstance(value[0], str):
            value = np.array(value, dtype=np.str_)
        arrays[key] = np.asarray(value)
    save_npz(path, **arrays)


def read_truth(path):
    """Read a truth file written by :func:`write_truth`.

    Returns
    -------
    truth : dict
        Arrays as stored; 0-d entries as Python scalars; ``phase_names`` and
        ``component_names`` as lists of str; ``settings`` as a JSON string.
    """
    truth = {}
    with np.load(path, allow_pickle=False) as archive:
        for key in archive.files:
            value = archive[key]
            if value.ndim == 0:
                value = value.item()
            elif value.dtype.kind == "U":
                value = [str(v) for v in value]
            truth[key] = value
    return truth
