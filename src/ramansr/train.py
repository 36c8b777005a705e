"""Train a super-resolution model on LR/HR pairs, resumably: settings, checkpoints, resuming, outputs.

The pair set and its batches are in :mod:`ramansr.pairs`, the steps and epochs on the device in
:mod:`ramansr.trainer`, loading and applying a trained model in :mod:`ramansr.inference`.

The model sees a whole LR map (or, in crop mode, the LR region under the HR
window plus a margin) and returns it upscaled by the run's SR factor (stored in
``pairs.npz`` by :mod:`ramansr.dataset`, from :mod:`ramansr.geometry`); the loss is the MSE on the
HR window at the pair's (X, Y) only, as in the paper (Adam, lr 1e-4).
Validation always feeds the full LR map. A joint model (:data:`ramansr.models.JOINT`) learns from
areas instead of pairs: each area's component maps stacked as channels, as many as the run's
``n_components`` (from ``pipeline``), with the same settings; augmentation moves all of an area's
maps together (see :mod:`ramansr.pairs`), and the checkpoint records the count as ``joint_maps``.

Settings (``DEFAULT_SETTINGS``; unknown keys raise ``ValueError``):

- ``epochs`` (1000): total epochs, counted across resumes.
- ``batch_size`` (16): pairs per optimiser step.
- ``learning_rate`` (1e-4): Adam's step size (generator and discriminator).
- ``schedule`` ("constant"): "constant" keeps ``learning_rate`` (the paper); "cosine" warms up
  linearly over ``warmup_epochs`` (0) and then decays to zero at the last epoch
  (:func:`ramansr.trainer.learning_rate_factor`), which makes a short budget converge.
- ``val_every`` (10): validate every this many epochs, and after the last.
- ``checkpoint_every`` (50): write ``last.pt`` every this many epochs, and after the last.
- ``seed`` (0): seeds the initial weights and every epoch's shuffle and augmentation.
- ``mode`` ("full"): "full" feeds whole LR maps; "crop" feeds the LR crop under
  the window plus ``margin``, a fraction of the compute.
- ``margin`` (8): LR pixels of context on each side of the window in crop mode.
- ``augment`` (False): random flips and 90 degree rotations; the window moves with the map.
- ``patch`` (0): with ``augment``, each epoch trains on a random ``patch`` x ``patch`` piece (HR
  pixels) of every window instead of the whole window (0), with ``margin`` LR pixels of context in
  crop mode: more, cheaper steps for the same compute.
- ``precision`` ("auto"): "fp32", "tf32", "bf16" (autocast + channels_last) or
  "auto" (per model, :data:`ramansr.models.AUTO_PRECISION`: one H200 measurement
  found bf16 slower than TF32 for RCAN, faster for SRResNet). CPU runs are fp32.
- ``model`` ({}): keyword arguments of :func:`ramansr.models.build`.
- ``pretrain`` (off): ``{enabled: true, ...}`` first trains the network on exactly aligned pairs made
  by the run's LR imaging model (:mod:`ramansr.synthetic`), then fine-tunes it on the registered pairs
  with the settings above (their epochs, schedule and warm-up); see ``PRETRAIN_DEFAULTS`` and
  :func:`pretrain`. Single-map networks only (a joint model, and srgan started from a trained
  srresnet, skip it). Off (absent, null or ``enabled: false``), the settings and the checkpoint are
  those of a version without it.
- srgan only: ``adversarial_weight`` (1e-3), ``init_from`` (None: path of a
  trained srresnet checkpoint to start the generator from; its weights are validated as epoch 0 and
  stay the best when no adversarial epoch beats them), ``discriminator``
  ({}: keyword arguments of :class:`ramansr.models.srgan.Discriminator`).

Outputs in ``out_dir``: ``best.pt`` (the weights with the best validation
PSNR) and ``history.csv``, the pipeline's declared outputs, appear only when
the whole run has finished, so a run that fails part way leaves nothing a rerun
would take for a trained model; ``summary.json``. Every checkpoint carries the SR factor (in
``model_kwargs["scaling_factor"]``) and, under ``pipeline``, the processing settings its maps were
made with, which :mod:`ramansr.prediction` applies to new scans, and the pair set's
``intensity_convention`` (see :mod:`ramansr.convention`), the intensity scale the model maps between,
and ``steps_um``, the LR and HR steps of the pairs (:func:`ramansr.geometry.trained_steps`), against
which prediction checks a scan's pixel size.
The resume files, never declared to Snakemake so that its cleanup of a failed job keeps them:
``last.pt`` (model, optimisers, epoch, RNG states, history, settings) and
``best_so_far.pt`` (the best weights up to ``last.pt``'s epoch). A rerun
continues an unfinished ``last.pt`` of the same data and settings; a finished
one means the caller asks for a new training (``--forcerun``), which starts afresh.
"""

import copy
import csv
import dataclasses
import hashlib
import itertools
import math
import shutil
import sys
import time
from pathlib import Path

import torch
from tqdm import tqdm

from ramansr.checkpoint import read_checkpoint, save_checkpoint
from ramansr.inference import pick_device
from ramansr.io_utils import atomic_path, write_json
from ramansr.models import MODELS, build, is_joint, is_trainable
from ramansr.pairs import intensity_convention, load_pairs, pair_steps
from ramansr.synthetic import KINDS, ImagingModel, lowres_noise, synthetic_pairs
from ramansr.trainer import TrainingRun, evaluate_windows, model_arguments

DEFAULT_SETTINGS = {
    "epochs": 1000,
    "batch_size": 16,
    "learning_rate": 1e-4,
    "schedule": "constant",
    "warmup_epochs": 0,
    "val_every": 10,
    "checkpoint_every": 50,
    "seed": 0,
    "mode": "full",
    "margin": 8,
    "patch": 0,
    "augment": False,
    "precision": "auto",
    "model": {},
    "adversarial_weight": 1e-3,
    "init_from": None,
    "discriminator": {},
    "pretrain": None,
}

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

# Changing these between a kill and the rerun still gives a sound run; anything else must match to resume.
# (Not epochs under the cosine schedule: the epoch count sets the whole decay.)
RESUMABLE_CHANGES = ("epochs", "val_every", "checkpoint_every")

# The resume files (undeclared) and the declared outputs, in ``out_dir``.
LAST_CHECKPOINT, BEST_SO_FAR = "last.pt", "best_so_far.pt"
BEST_CHECKPOINT, HISTORY = "best.pt", "history.csv"

HISTORY_COLUMNS = ("epoch", "train_loss", "val_loss", "val_psnr")
SRGAN_COLUMNS = ("adversarial_loss", "discriminator_loss")


def resolve_settings(settings):
    """Fill in defaults and check the values.

    Parameters
    ----------
    settings : dict or None
        Any subset of ``DEFAULT_SETTINGS``.

    Returns
    -------
    dict
        A complete, JSON-serialisable copy.
    """
    settings = dict(settings or {})
    unknown = sorted(set(settings) - set(DEFAULT_SETTINGS))
    if unknown:
        raise ValueError(f"unknown training settings {unknown}; known: {sorted(DEFAULT_SETTINGS)}")
    resolved = copy.deepcopy(DEFAULT_SETTINGS)
    resolved.update(copy.deepcopy(settings))
    if resolved["mode"] not in {"full", "crop"}:
        raise ValueError(f"mode must be 'full' or 'crop', got {resolved['mode']!r}")
    if resolved["patch"] and not resolved["augment"]:
        raise ValueError("patch needs augment: the patches are drawn with the augmentation's random numbers")
    if resolved["schedule"] not in {"constant", "cosine"}:
        raise ValueError(f"schedule must be 'constant' or 'cosine', got {resolved['schedule']!r}")
    if resolved["precision"] not in {"auto", "fp32", "tf32", "bf16"}:
        raise ValueError(f"precision must be auto, fp32, tf32 or bf16, got {resolved['precision']!r}")
    for key in ("epochs", "warmup_epochs", "batch_size", "val_every", "checkpoint_every", "margin", "patch", "seed"):
        resolved[key] = int(resolved[key])
    if resolved["init_from"] is not None:
        resolved["init_from"] = str(resolved["init_from"])
    pretraining = resolve_pretrain(resolved.pop("pretrain"))
    if pretraining is not None:
        resolved["pretrain"] = pretraining
    return resolved


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


def write_history(history, path, columns=HISTORY_COLUMNS):
    """One CSV row per epoch; metrics not measured that epoch stay blank."""
    with atomic_path(path) as temporary, open(temporary, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        for row in history:
            writer.writerow({key: "" if row.get(key) is None else row[key] for key in columns})


def input_fingerprint(*paths):
    """SHA-256 of the files a run learns from (None entries skipped), to tell whether a checkpoint fits them."""
    digest = hashlib.sha256()
    for path in paths:
        if path is not None:
            with open(path, "rb") as handle:
                for block in iter(lambda: handle.read(1 << 20), b""):
                    digest.update(block)
    return digest.hexdigest()


def _resume_state(out_dir, settings, fingerprint):
    """The ``last.pt`` state to continue from, or None.

    A checkpoint written from other data or with other settings (beyond
    ``RESUMABLE_CHANGES``) is not resumed: the run starts afresh, as a
    rerun after changed data or config must. Nor is a finished one (its
    epoch reaches ``epochs``): training is only asked for again when its
    outputs were removed or a retrain forced, and resuming would train nothing.
    """
    path = out_dir / LAST_CHECKPOINT
    if not path.exists():
        return None
    state = read_checkpoint(path)
    resumable = [key for key in RESUMABLE_CHANGES if settings["schedule"] == "constant" or key != "epochs"]
    differing = sorted(key for key in settings if key not in resumable and state["settings"].get(key) != settings[key])
    if state.get("inputs") != fingerprint:
        differing.append("training data")
    if differing:
        reason = f"was written with other {', '.join(differing)}"
    elif state["epoch"] >= settings["epochs"]:
        reason = f"has finished all {state['epoch']} epochs (a retrain was asked for)"
    elif state["best_epoch"] is not None and not (out_dir / BEST_SO_FAR).exists():
        reason = f"has no {BEST_SO_FAR} beside it"
    else:
        return state
    print(f"{path} {reason}: starting afresh", file=sys.stderr)
    return None


def joint_maps(model_name, pipeline):
    """The maps per area a model takes at once: the run's ``n_components`` for a joint model, else None.

    Raises
    ------
    ValueError
        For a joint model when ``pipeline`` does not give ``n_components``.
    """
    if not is_joint(model_name):
        return None
    if not pipeline or "n_components" not in pipeline:
        raise ValueError(
            f"{model_name} takes all of an area's component maps: its training needs the run's "
            "n_components (decompose: n_components) in pipeline"
        )
    return int(pipeline["n_components"])


def _train_baseline(model_name, val_pairs, out_dir, settings, device, factor, pipeline, pairs_path):
    """A parameter-free model needs no training: choose its ``choices`` (:class:`ramansr.models.ModelEntry`)
    on the validation pairs, write name-only checkpoints and return the validation score.

    Each combination of the choices the settings' ``model`` does not fix is scored; the best validation
    PSNR's goes into the checkpoint. Without validation pairs the constructor's defaults stay.
    """
    model_kwargs = model_arguments(model_name, settings, factor)
    steps = pair_steps(pairs_path)
    if model_name == "wiener" and "lowres_step_um" not in model_kwargs and steps is not None:
        # for your own scans the LR step is the run's (geometry.json, recorded in the pair set), not the config's
        model_kwargs["lowres_step_um"] = sum(steps["lowres"]) / len(steps["lowres"])
    choices = {key: values for key, values in MODELS[model_name].choices.items() if key not in model_kwargs}
    candidates = [model_kwargs]
    if choices and len(val_pairs):
        candidates = [
            {**model_kwargs, **dict(zip(choices, values, strict=True))}
            for values in itertools.product(*choices.values())
        ]
    validation = {"val_loss": None, "val_psnr": None}
    for kwargs in candidates:
        model = build(model_name, **kwargs).to(device)
        if len(val_pairs):
            scores = evaluate_windows(
                model, val_pairs, settings["batch_size"], lambda array: torch.from_numpy(array).to(device)
            )
            if validation["val_psnr"] is None or scores["val_psnr"] > validation["val_psnr"]:
                validation, model_kwargs = scores, kwargs
    if choices and len(val_pairs):
        chosen = ", ".join(f"{key} {model_kwargs[key]:g}" for key in choices)
        print(f"{model_name}: chose {chosen} on the validation pairs", file=sys.stderr)
    state = {
        "model_name": model_name,
        "model_kwargs": model_kwargs,
        "pipeline": pipeline,
        "model_state": None,
        "epoch": 0,
        "settings": settings,
        "history": [],
        "intensity_convention": intensity_convention(pairs_path),
        "steps_um": steps,
    }
    save_checkpoint(state, out_dir / LAST_CHECKPOINT)
    write_history([], out_dir / HISTORY)
    save_checkpoint(state, out_dir / BEST_CHECKPOINT)
    return validation


def train_model(
    model_name, pairs_path, split_path, out_dir, settings, device=None, *, pipeline=None, on_epoch_end=None
):
    """Train ``model_name`` on the train split, validating on the val split; resume if ``last.pt`` exists.

    Parameters
    ----------
    model_name : str
        A name of :data:`ramansr.models.MODELS`; "linear" and "bicubic" only
        write name-only checkpoints (and their validation score).
    pairs_path, split_path : path-like
        ``pairs.npz`` and ``split.csv`` of :mod:`ramansr.dataset`.
    out_dir : path-like
        Receives best.pt and history.csv (only once finished), last.pt and
        best_so_far.pt (to resume from), and summary.json.
    settings : dict
        See the module docstring and ``DEFAULT_SETTINGS``.
    device : str or torch.device or None
        None picks CUDA when available, else CPU.
    pipeline : dict or None
        The processing settings the pairs were made with (SR factor aside, which
        comes from ``pairs.npz``), stored in every checkpoint for
        :mod:`ramansr.prediction`: see :func:`ramansr.prediction.scan.resolve_pipeline`. A joint model
        takes its ``n_components`` maps per area.
    on_epoch_end : callable or None
        Called as ``on_epoch_end(epoch, row)`` after each epoch's checkpointing,
        with the epoch's history row (used by tests to simulate a kill).

    Returns
    -------
    dict
        The summary also written to ``summary.json``.
    """
    started = time.perf_counter()
    settings = resolve_settings(settings)
    device = pick_device(device)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    # a failure from here on must not leave an older run's outputs looking like this run's
    for name in (BEST_CHECKPOINT, HISTORY):
        (out_dir / name).unlink(missing_ok=True)
    n_maps = joint_maps(model_name, pipeline)
    train_pairs = load_pairs(pairs_path, split_path, "train", n_maps)
    val_pairs = load_pairs(pairs_path, split_path, "val", n_maps)
    factor = train_pairs.factor
    summary = {
        "model_name": model_name,
        "settings": settings,
        "device": str(device),
        "cpu_threads": torch.get_num_threads(),
        "factor": factor,
        "n_train": len(train_pairs),
        "n_val": len(val_pairs),
        "joint_maps": n_maps,
    }

    if not is_trainable(model_name):
        validation = _train_baseline(model_name, val_pairs, out_dir, settings, device, factor, pipeline, pairs_path)
        summary.update(
            epochs_completed=0,
            best_epoch=None,
            best_val_psnr=validation["val_psnr"],
            final_train_loss=None,
            n_parameters=0,
            precision="fp32",
            train_seconds=time.perf_counter() - started,
        )
        write_json(summary, out_dir / "summary.json")
        return summary
    if len(train_pairs) == 0:
        raise ValueError(f"no pairs in the train split of {split_path}")

    steps_per_epoch = math.ceil(len(train_pairs) / settings["batch_size"])
    run = TrainingRun(model_name, settings, device, factor, pipeline, steps_per_epoch, n_maps)
    fingerprint = input_fingerprint(pairs_path, split_path, settings["init_from"])
    run.inputs = fingerprint
    run.intensity_convention = intensity_convention(pairs_path)
    run.steps_um = pair_steps(pairs_path)
    resumed = _resume_state(out_dir, settings, fingerprint)
    if resumed is not None:
        run.restore(resumed)
    else:
        (out_dir / BEST_SO_FAR).unlink(missing_ok=True)
        if "pretrain" in settings and n_maps is None and not (model_name == "srgan" and settings["init_from"]):
            pretrain(run, train_pairs, run.steps_um)
        if model_name == "srgan" and settings["init_from"]:
            run.initialise_generator(settings["init_from"])
            if len(val_pairs):
                # the trained start is a candidate too: fine-tuning that lowers validation PSNR is not kept
                start = {"epoch": 0, **run.validate(val_pairs)}
                _record_validation(run, start, out_dir)
                run.history.append(start)
    columns = HISTORY_COLUMNS + (SRGAN_COLUMNS if model_name == "srgan" else ())
    resumed_at = run.epoch

    progress = tqdm(
        total=settings["epochs"],
        initial=run.epoch,
        desc=f"train {model_name}",
        unit="epoch",
        file=sys.stderr,
        dynamic_ncols=True,
    )
    while run.epoch < settings["epochs"]:
        run.epoch += 1
        row = {"epoch": run.epoch, **run.train_epoch(train_pairs)}
        last_epoch = run.epoch == settings["epochs"]
        if len(val_pairs) and (run.epoch % settings["val_every"] == 0 or last_epoch):
            row.update(run.validate(val_pairs))
            _record_validation(run, row, out_dir)
        run.history.append(row)
        if run.epoch % settings["checkpoint_every"] == 0 or last_epoch:
            save_checkpoint(run.state(), out_dir / LAST_CHECKPOINT)
        progress.update(1)
        progress.set_postfix({key: f"{value:.4g}" for key, value in row.items() if key != "epoch"})
        if on_epoch_end is not None:
            on_epoch_end(run.epoch, row)
    progress.close()
    _publish(run, out_dir, columns)

    summary.update(
        epochs_completed=run.epoch,
        resumed_from_epoch=resumed_at if resumed is not None else None,
        best_epoch=run.best_epoch,
        best_val_psnr=run.best_val_psnr if run.best_epoch is not None else None,
        final_train_loss=run.history[-1]["train_loss"] if run.history else None,
        n_parameters=sum(parameter.numel() for parameter in run.model.parameters()),
        precision=run.precision,
        train_seconds=time.perf_counter() - started,
    )
    if run.pretrained is not None:
        summary["pretrain"] = run.pretrained
    write_json(summary, out_dir / "summary.json")
    return summary


def _record_validation(run, row, out_dir):
    """Keep the run's weights in ``best_so_far.pt`` when ``row``'s validation PSNR is the best yet."""
    if row["val_psnr"] > run.best_val_psnr:
        run.best_val_psnr, run.best_epoch = row["val_psnr"], row["epoch"]
        save_checkpoint(run.state(), out_dir / BEST_SO_FAR)


def _publish(run, out_dir, columns):
    """Write the declared outputs of a finished run: best.pt, then history.csv.

    ``best_so_far.pt`` is copied, not moved, so that a later run with more
    epochs can still continue this one.
    """
    if run.best_epoch is None:
        # nothing to select by (no val pairs): the best model is the latest one
        save_checkpoint(run.state(), out_dir / BEST_CHECKPOINT)
    else:
        with atomic_path(out_dir / BEST_CHECKPOINT) as temporary:
            shutil.copyfile(out_dir / BEST_SO_FAR, temporary)
    write_history(run.history, out_dir / HISTORY, columns)
