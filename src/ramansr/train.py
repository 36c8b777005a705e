"""Train a super-resolution model on LR/HR pairs, resumably: the settings and the run.

The pair set and its batches are in :mod:`ramansr.pairs`, the steps and epochs on the device in
:mod:`ramansr.trainer`, pretraining on synthetic pairs in :mod:`ramansr.pretrain`, the run's resume
files and outputs in :mod:`ramansr.training_files`, loading and applying a trained model in
:mod:`ramansr.inference`.

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
  with the settings above (their epochs, schedule and warm-up); see
  :data:`ramansr.pretrain.PRETRAIN_DEFAULTS` and :func:`ramansr.pretrain.pretrain`. Single-map
  networks only (a joint model, and srgan started from a trained srresnet, skip it). Off (absent,
  null or ``enabled: false``), the settings and the checkpoint are those of a version without it.
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
and ``steps_um``, the LR and HR steps of the pairs (:func:`ramansr.geometry.steps.trained_steps`), against
which prediction checks a scan's pixel size.
The resume files, never declared to Snakemake so that its cleanup of a failed job keeps them:
``last.pt`` (model, optimisers, epoch, RNG states, history, settings) and
``best_so_far.pt`` (the best weights up to ``last.pt``'s epoch). A rerun
continues an unfinished ``last.pt`` of the same data and settings; a finished
one means the caller asks for a new training (``--forcerun``), which starts afresh.
"""

import copy
import itertools
import math
import sys
import time
from pathlib import Path

import torch
from tqdm import tqdm

from ramansr.checkpoint import save_checkpoint
from ramansr.inference import pick_device
from ramansr.io_utils import write_json
from ramansr.models import MODELS, build, is_joint, is_trainable
from ramansr.pairs import intensity_convention, load_pairs, pair_steps
from ramansr.pretrain import pretrain, resolve_pretrain
from ramansr.trainer import TrainingRun, evaluate_windows, model_arguments
from ramansr.training_files import (
    BEST_CHECKPOINT,
    BEST_SO_FAR,
    HISTORY,
    HISTORY_COLUMNS,
    LAST_CHECKPOINT,
    SRGAN_COLUMNS,
    input_fingerprint,
    publish,
    record_validation,
    resume_state,
    write_history,
)

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
    resumed = resume_state(out_dir, settings, fingerprint)
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
                record_validation(run, start, out_dir)
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
            record_validation(run, row, out_dir)
        run.history.append(row)
        if run.epoch % settings["checkpoint_every"] == 0 or last_epoch:
            save_checkpoint(run.state(), out_dir / LAST_CHECKPOINT)
        progress.update(1)
        progress.set_postfix({key: f"{value:.4g}" for key, value in row.items() if key != "epoch"})
        if on_epoch_end is not None:
            on_epoch_end(run.epoch, row)
    progress.close()
    publish(run, out_dir, columns)

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
