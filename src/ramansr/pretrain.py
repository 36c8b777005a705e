"""Pretraining on synthetic pairs: its settings, its imaging model, and the run before a network's own training."""

import copy
import dataclasses
import math
import sys
import time

from tqdm import tqdm

from ramansr.synthetic import KINDS, ImagingModel, lowres_noise, synthetic_pairs
from ramansr.trainer import TrainingRun

#: Pretraining's settings (``pretrain:``), each with its default:
#: ``pairs`` synthetic pairs made once (:func:`ramansr.synthetic.synthetic_pairs`), trained on for
#: ``epochs`` passes in batches of the run's ``batch_size`` (so ``pairs x epochs / batch_size`` steps)
#: at ``learning_rate`` (None: the run's) under the run's schedule with ``warmup_epochs`` of warm-up;
#: ``morphologies``, the share of synthetic morphologies (of ``kinds``) against measured HR windows
#: re-imaged; ``size`` and ``edge``, each pair's LR points per side and the window's distance from the
#: border (LR points); ``noise``, the LR maps' noise (None: measured on the train pairs, their LR maps
#: against their HR windows imaged, :func:`ramansr.synthetic.lowres_noise`); ``imaging``, the optics
#: (``lowres_step_um``, ``lowres_na``, ``highres_na``, ``excitation_nm``; missing: the pair set's LR
#: step and :mod:`ramansr.optics`' defaults); ``jitter``, a random misalignment of the targets (HR
#: pixels, :func:`ramansr.synthetic.synthetic_pairs`; 0: exactly aligned); ``seed`` of the pairs.
PRETRAIN_DEFAULTS = {
    "enabled": True,
    "pairs": 512,
    "epochs": 2,
    "learning_rate": None,
    "warmup_epochs": 1,
    "morphologies": 0.5,
    "kinds": list(KINDS),
    "size": 24,
    "edge": 2,
    "jitter": 0.0,
    "noise": None,
    "imaging": {},
    "seed": 0,
}
IMAGING_KEYS = ("lowres_step_um", "lowres_na", "highres_na", "excitation_nm")


def resolve_pretrain(pretraining):
    """Complete ``pretrain`` settings; None when pretraining is off (absent, null or not enabled)."""
    if not pretraining or not pretraining.get("enabled", False):
        return None
    unknown = sorted(set(pretraining) - set(PRETRAIN_DEFAULTS))
    if unknown:
        raise ValueError(f"unknown pretrain settings {unknown}; known: {sorted(PRETRAIN_DEFAULTS)}")
    resolved = {**copy.deepcopy(PRETRAIN_DEFAULTS), **copy.deepcopy(pretraining)}
    for key in ("pairs", "epochs", "warmup_epochs", "size", "edge", "seed"):
        resolved[key] = int(resolved[key])
    if not 0.0 <= float(resolved["morphologies"]) <= 1.0:
        raise ValueError(f"pretrain: morphologies is a share in [0, 1], got {resolved['morphologies']}")
    unknown = sorted(set(resolved["kinds"]) - set(KINDS))
    if unknown or not resolved["kinds"]:
        raise ValueError(f"pretrain: kinds must be some of {list(KINDS)}, got {resolved['kinds']}")
    unknown = sorted(set(resolved["imaging"]) - set(IMAGING_KEYS))
    if unknown:
        raise ValueError(f"unknown pretrain: imaging settings {unknown}; known: {list(IMAGING_KEYS)}")
    resolved["kinds"] = list(resolved["kinds"])
    resolved["morphologies"] = float(resolved["morphologies"])
    return resolved


def imaging_model(pretraining, train_pairs, steps):
    """The :class:`ramansr.synthetic.ImagingModel` of a run's pretraining.

    Parameters
    ----------
    pretraining : dict
        Resolved ``pretrain`` settings.
    train_pairs : PairSet
        Their LR maps give the noise level unless ``pretrain: noise`` does.
    steps : dict or None
        The pair set's steps (:func:`ramansr.pairs.pair_steps`), for an LR step the settings lack.
    """
    optics = dict(pretraining["imaging"])
    if "lowres_step_um" not in optics:
        if steps is None:
            raise ValueError("pretraining needs the LR step: give pretrain: imaging: lowres_step_um")
        optics["lowres_step_um"] = sum(steps["lowres"]) / len(steps["lowres"])
    imaging = ImagingModel(factor=train_pairs.factor, **optics)
    noise = pretraining["noise"]
    if noise is None:
        noise = lowres_noise(train_pairs.lowres[:, 0], train_pairs.highres[:, 0], train_pairs.positions, imaging)
    return dataclasses.replace(imaging, noise=float(noise))


def pretrain(run, train_pairs, steps):
    """Train ``run.model`` on synthetic pairs (:func:`ramansr.synthetic.synthetic_pairs`) before its own training.

    A run of its own (:class:`ramansr.trainer.TrainingRun`, the run's settings with pretraining's
    epochs, step size and warm-up) from the run's initial weights; its final weights replace them, and
    the fine-tuning starts with a fresh optimiser and schedule. ``run.pretrained`` records what it did
    (the checkpoint's ``pretrain``).

    Returns
    -------
    dict
        ``pairs``, ``noise`` (the LR noise used), ``imaging``, ``epochs``, ``train_loss`` (the last
        epoch's) and ``seconds``.
    """
    started = time.perf_counter()
    pretraining = run.settings["pretrain"]
    imaging = imaging_model(pretraining, train_pairs, steps)
    pairs = synthetic_pairs(
        list(train_pairs.highres[:, 0]),
        imaging,
        pretraining["pairs"],
        morphologies=pretraining["morphologies"],
        kinds=pretraining["kinds"],
        size=pretraining["size"],
        edge=pretraining["edge"],
        jitter=float(pretraining["jitter"]),
        seed=pretraining["seed"],
    )
    settings = {
        **run.settings,
        "epochs": pretraining["epochs"],
        "warmup_epochs": pretraining["warmup_epochs"],
        "learning_rate": pretraining["learning_rate"] or run.settings["learning_rate"],
    }
    steps_per_epoch = math.ceil(len(pairs) / settings["batch_size"])
    synthetic = TrainingRun(run.model_name, settings, run.device, train_pairs.factor, None, steps_per_epoch)
    synthetic.model.load_state_dict(run.model.state_dict())
    row = {}
    for epoch in tqdm(range(settings["epochs"]), desc=f"pretrain {run.model_name}", file=sys.stderr):
        synthetic.epoch = epoch
        row = synthetic.train_epoch(pairs)
    run.model.load_state_dict(synthetic.model.state_dict())
    run.pretrained = {
        "pairs": len(pairs),
        "noise": imaging.noise,
        "imaging": {key: getattr(imaging, key) for key in IMAGING_KEYS},
        "epochs": settings["epochs"],
        "train_loss": row.get("train_loss"),
        "seconds": time.perf_counter() - started,
    }
    return run.pretrained
