"""Simulation settings: their defaults, how partial settings are completed, and what follows from them alone.

The defaults are the paper's geometry, written here only: ``workflow/schemas/simulation.schema.yaml``
checks the keys' types and ranges and holds no defaults, and the workflow fills a key its config lacks
with :func:`resolve_settings`, as the simulator does.
"""

import copy
import hashlib

import numpy as np

from ramansr.geometry.steps import step_ratio

_DEFAULTS = {
    "seed": 2024,
    "samples": ["A", "B", "C", "D", "E", "F"],
    "areas": 4,
    "polymer_fraction": {"A": 0.05, "B": 0.10, "C": 0.15, "D": 0.20, "E": 0.25, "F": 0.30},
    "phases": ["surfactant-rich", "water-rich", "polymer-rich"],
    "lowres": {"points": 100, "lines": None, "step_um": 2.0, "na": 0.5},
    "highres": {"points": 100, "lines": None, "step_um": 0.5, "na": 0.8},
    "channels": 954,
    "wavenumber_range": [100.0, 3800.0],
    "excitation_nm": 488.0,
    "fine_step_um": 0.25,
    "snr": 20.0,
    "read_noise": 5.0,
    "drift": 0.02,
    "rotation_deg_max": 1.0,
    "placement_error_um": 2.0,
    "spikes": {"enabled": False, "rate": 0.005},
    "offset": {"enabled": True, "bias_counts": 600.0, "dark_counts": {"lowres": 10.0, "highres": 35.0}},
    "baseline": {"enabled": True, "strength": 0.3},
    "heterogeneity": {
        "enabled": False,
        "inclusions": 3,
        "inclusion_radius_um": [10.0, 30.0],
        "inclusion_edge_um": 2.0,
        "inclusion_weight": 0.9,
        "gradient": 0.7,
    },
    "morphology": {
        "correlation_length_um": 1.5,
        "coarsening_um": 25.0,
        "interface_um": 1.5,
        "contrast": 0.5,
        "contrast_gain": 1.6,
        "surfactant_area_fraction": 0.25,
    },
}


def default_settings():
    """Return the full default ``simulation:`` settings (the paper's geometry).

    Returns
    -------
    settings : dict
        A fresh deep copy; see ``workflow/schemas/simulation.schema.yaml``
        for the meaning of every key.
    """
    return copy.deepcopy(_DEFAULTS)


def resolve_settings(settings):
    """Fill missing keys of ``settings`` from :func:`default_settings`.

    Parameters
    ----------
    settings : dict or None
        A possibly partial ``simulation:`` section; nested sections are
        merged key by key.

    Returns
    -------
    resolved : dict
        A new dict with every key present.
    """
    resolved = default_settings()
    for key, value in (settings or {}).items():
        if isinstance(value, dict) and isinstance(resolved.get(key), dict):
            resolved[key] = {**resolved[key], **copy.deepcopy(value)}
        else:
            resolved[key] = copy.deepcopy(value)
    return resolved


def area_seed_sequence(seed, sample, area):
    """Seed sequence for one area, stable across processes and Python versions.

    Parameters
    ----------
    seed : int
        The global seed.
    sample : str
        Sample name; hashed with SHA-256 (Python's ``hash`` is salted).
    area : int
        Area number.

    Returns
    -------
    numpy.random.SeedSequence
    """
    sample_key = int.from_bytes(hashlib.sha256(str(sample).encode()).digest()[:8], "little")
    return np.random.SeedSequence([int(seed), sample_key, int(area)])


# --------------------------------------------------------------------------- scan extent


def scan_offset(settings, which):
    """The counts the detector adds to every channel of one scan: its bias plus the scan's dark level."""
    offset = settings["offset"]
    return float(offset["bias_counts"] + offset["dark_counts"][which]) if offset["enabled"] else 0.0


def scan_lines(scan):
    """Lines per scan of a ``lowres`` / ``highres`` settings block (``lines: null``: as many as points per line)."""
    return scan["points"] if scan.get("lines") is None else scan["lines"]


def scan_field(scan):
    """(width, height) in um of a scan, first to last point."""
    return np.array([(scan["points"] - 1) * scan["step_um"], (scan_lines(scan) - 1) * scan["step_um"]])


def sr_factor(settings):
    """The SR factor of simulated scans: :func:`ramansr.geometry.steps.step_ratio` of their steps."""
    lowres, highres = settings["lowres"]["step_um"], settings["highres"]["step_um"]
    return step_ratio((lowres, lowres), (highres, highres), "simulation: lowres/highres step_um")[0]
