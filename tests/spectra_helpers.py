"""Settings for the spectral chain in tests: the config's ``preprocess:`` section, built from keywords."""


def chain_settings(window_length=11, polyorder=3, *, despike=None, clip_percentile=100.0, offset="none", baseline=None):
    """A ``preprocess:`` section: despike a threshold or None (off), baseline a (method, settings) pair or None."""
    return {
        "offset": offset,
        "despike": {"enabled": despike is not None, "threshold": despike or 4.0},
        "window_length": window_length,
        "polyorder": polyorder,
        "baseline": {
            "enabled": baseline is not None,
            "method": baseline[0] if baseline else "modpoly",
            "settings": baseline[1] if baseline else {},
        },
        "clip_percentile": clip_percentile,
    }
