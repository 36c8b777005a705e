"""The processing settings a model's maps are made with.

Every checkpoint stores them (the ``train`` rule passes them from the config),
so that :mod:`ramansr.prediction` makes the maps of a new scan the same way. Kept
apart from both so that the workflow reads them at parse time without heavy
imports.
"""

#: Each setting and the config section it lives in.
PROCESSING_SETTINGS = {
    "offset": "preprocess",
    "baseline": "preprocess",
    "window_length": "preprocess",
    "polyorder": "preprocess",
    "despike": "preprocess",
    "clip_percentile": "preprocess",
    "n_components": "decompose",
    "seed": "decompose",
    "max_iter": "decompose",
    "tol": "decompose",
}

#: What a setting was before the config had it, for checkpoints that predate it: NMF's ``tol`` was
#: scikit-learn's default; the counts went in with their offset and baseline.
LEGACY_DEFAULTS = {"tol": 1e-4, "offset": "none", "baseline": {"enabled": False}}


def processing_settings(config):
    """The processing settings from a run's config (a mapping with preprocess: and decompose:)."""
    return {key: config[section][key] for key, section in PROCESSING_SETTINGS.items()}
