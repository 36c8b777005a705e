"""Train a super-resolution model on LR/HR pairs, resumably; load it; apply it.

The model sees a whole LR map (or, in crop mode, the LR region under the HR
window plus a margin) and returns it upscaled by the run's SR factor (stored in
``pairs.npz`` by :mod:`ramansr.dataset`, from :mod:`ramansr.geometry`); the loss is the MSE on the
HR window at the pair's (X, Y) only, as in the paper (Adam, lr 1e-4).
Validation always feeds the full LR map.

Settings (``DEFAULT_SETTINGS``; unknown keys raise ``ValueError``):

- ``epochs`` (1000): total epochs, counted across resumes.
- ``batch_size`` (16): pairs per optimiser step.
- ``learning_rate`` (1e-4): Adam's step size (generator and discriminator).
- ``val_every`` (10): validate every this many epochs, and after the last.
- ``checkpoint_every`` (50): write ``last.pt`` every this many epochs, and after the last.
- ``seed`` (0): seeds the initial weights and every epoch's shuffle and augmentation.
- ``mode`` ("full"): "full" feeds whole LR maps; "crop" feeds the LR crop under
  the window plus ``margin``, a fraction of the compute.
- ``margin`` (8): LR pixels of context on each side of the window in crop mode.
- ``augment`` (False): random flips and 90 degree rotations; the window moves with the map.
- ``precision`` ("auto"): "fp32", "tf32", "bf16" (autocast + channels_last) or
  "auto" (bf16 for srcnn/srresnet/srgan, tf32 for rcan: one H200 measurement
  found bf16 slower than TF32 for RCAN, faster for SRResNet). CPU runs are fp32.
- ``model`` ({}): keyword arguments of :func:`ramansr.models.build`.
- srgan only: ``adversarial_weight`` (1e-3), ``init_from`` (None: path of a
  trained srresnet checkpoint to start the generator from), ``discriminator``
  ({}: keyword arguments of :class:`ramansr.models.srgan.Discriminator`).

Outputs in ``out_dir``: ``best.pt`` (the weights with the best validation
PSNR) and ``history.csv``, the pipeline's declared outputs, appear only when
the whole run has finished, so a run that fails part way leaves nothing a rerun
would take for a trained model; ``summary.json``. Every checkpoint carries the SR factor (in
``model_kwargs["scaling_factor"]``) and, under ``pipeline``, the processing settings its maps were
made with, which :mod:`ramansr.predict` applies to new scans, and the pair set's
``intensity_convention`` (see :mod:`ramansr.dataset`), the intensity scale the model maps between.
The resume files, never declared to Snakemake so that its cleanup of a failed job keeps them:
``last.pt`` (model, optimisers, epoch, RNG states, history, settings) and
``best_so_far.pt`` (the best weights up to ``last.pt``'s epoch). A rerun
continues an unfinished ``last.pt`` of the same data and settings; a finished
one means the caller asks for a new training (``--forcerun``), which starts afresh.
"""

import copy
import csv
import hashlib
import math
import shutil
import sys
import time
from contextlib import nullcontext
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch import nn
from tqdm import tqdm

from ramansr.io_utils import atomic_path, write_json
from ramansr.models import build, is_trainable
from ramansr.models.srgan import Discriminator

DEFAULT_SETTINGS = {
    "epochs": 1000,
    "batch_size": 16,
    "learning_rate": 1e-4,
    "val_every": 10,
    "checkpoint_every": 50,
    "seed": 0,
    "mode": "full",
    "margin": 8,
    "augment": False,
    "precision": "auto",
    "model": {},
    "adversarial_weight": 1e-3,
    "init_from": None,
    "discriminator": {},
}

AUTO_PRECISION = {"srcnn": "bf16", "srresnet": "bf16", "srgan": "bf16", "rcan": "tf32"}

# Changing these between a kill and the rerun still gives a sound run; anything else must match to resume.
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
    if resolved["precision"] not in {"auto", "fp32", "tf32", "bf16"}:
        raise ValueError(f"precision must be auto, fp32, tf32 or bf16, got {resolved['precision']!r}")
    for key in ("epochs", "batch_size", "val_every", "checkpoint_every", "margin", "seed"):
        resolved[key] = int(resolved[key])
    if resolved["init_from"] is not None:
        resolved["init_from"] = str(resolved["init_from"])
    return resolved


def pick_device(device=None):
    """``device`` as a torch.device; CUDA when available if None."""
    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def configure_precision(model_name, precision, device):
    """Set the backend flags for ``precision`` on ``device``.

    Returns
    -------
    str
        The precision in effect: always "fp32" on CPU; "auto" resolved per model on CUDA.
    """
    if device.type != "cuda":
        return "fp32"
    if precision == "auto":
        precision = AUTO_PRECISION.get(model_name, "tf32")
    allow_tf32 = precision != "fp32"
    torch.backends.cuda.matmul.allow_tf32 = allow_tf32
    torch.backends.cudnn.allow_tf32 = allow_tf32
    # every batch has one of at most three shapes, so cuDNN's algorithm search pays off
    torch.backends.cudnn.benchmark = True
    return precision


class PairSet:
    """The pairs of one split, with integer window positions.

    Attributes
    ----------
    lowres : ndarray, (n, h, w) float32
    highres : ndarray, (n, H, W) float32
    positions : ndarray, (n, 2) int64
        (X, Y) rounded to whole pixels and kept inside the upscaled LR map.
    pair_ids : ndarray of str, (n,)
    factor : int
        The run's SR factor.
    """

    def __init__(self, lowres, highres, positions, pair_ids, factor):
        self.lowres = np.ascontiguousarray(lowres, dtype=np.float32)
        self.highres = np.ascontiguousarray(highres, dtype=np.float32)
        self.pair_ids = np.asarray(pair_ids, dtype=str)
        self.factor = int(factor)
        self.positions = window_positions(positions, self.lowres.shape[1:], self.highres.shape[1:], self.factor)

    def __len__(self):
        return len(self.pair_ids)


def window_positions(positions, lowres_shape, window_shape, factor):
    """Round (X, Y) to pixels and clamp so the window lies inside the upscaled LR map.

    Parameters
    ----------
    positions : array-like, (n, 2)
        (X, Y) of each window's top-left corner.
    lowres_shape : (h, w)
    window_shape : (H, W)
    factor : int
        The SR factor.

    Returns
    -------
    ndarray, (n, 2) int64
    """
    positions = np.rint(np.asarray(positions, dtype=np.float64)).astype(np.int64).reshape(-1, 2)
    x_max = factor * lowres_shape[1] - window_shape[1]
    y_max = factor * lowres_shape[0] - window_shape[0]
    if x_max < 0 or y_max < 0:
        raise ValueError(
            f"HR window {tuple(window_shape)} does not fit in the {factor}x-upscaled LR map {tuple(lowres_shape)}"
        )
    return np.stack([np.clip(positions[:, 0], 0, x_max), np.clip(positions[:, 1], 0, y_max)], axis=1)


def load_pairs(pairs_path, split_path, split):
    """Read the pairs of one split from ``pairs.npz`` and ``split.csv``.

    Parameters
    ----------
    pairs_path, split_path : path-like
    split : {"train", "val", "test"}

    Returns
    -------
    PairSet
    """
    table = pd.read_csv(split_path, dtype={"pair_id": str})
    wanted = set(table.loc[table["split"] == split, "pair_id"])
    with np.load(pairs_path) as pairs:
        selected = np.isin(pairs["pair_id"].astype(str), list(wanted))
        return PairSet(
            pairs["lowres"][selected],
            pairs["highres"][selected],
            pairs["position"][selected],
            pairs["pair_id"][selected],
            int(pairs["factor"]),
        )


def augment_pair(lowres, highres, position, flip, rotations, factor):
    """Flip and rotate an LR map and its HR window together.

    Parameters
    ----------
    lowres : ndarray, (h, w)
    highres : ndarray, (H, W)
    position : (X, Y) int
        Window corner in the upscaled LR map.
    flip : bool
        Mirror left-right first.
    rotations : int
        Then rotate this many quarter turns counter-clockwise (``np.rot90``).
    factor : int
        The SR factor.

    Returns
    -------
    lowres, highres, position
        The transformed map, window and corner.
    """
    x, y = int(position[0]), int(position[1])
    window_rows, window_cols = highres.shape
    if flip:
        lowres, highres = lowres[:, ::-1], highres[:, ::-1]
        x = factor * lowres.shape[1] - x - window_cols
    for _ in range(rotations):
        # a counter-clockwise quarter turn sends (row, col) to (cols - 1 - col, row)
        upscaled_cols = factor * lowres.shape[1]
        x, y = y, upscaled_cols - x - window_cols
        lowres, highres = np.rot90(lowres), np.rot90(highres)
        window_rows, window_cols = window_cols, window_rows
    return lowres, highres, (x, y)


def crop_bounds(start, window_size, lowres_size, margin, factor):
    """First LR index and length of the fixed-size LR crop that holds a window plus margin.

    The length depends only on the window size, so crops of one batch stack.

    Parameters
    ----------
    start : int
        Window start in upscaled pixels.
    window_size : int
        Window length in HR (upscaled) pixels.
    lowres_size : int
        LR map length along this axis.
    margin : int
        LR pixels of context on each side.
    factor : int
        The SR factor.
    """
    # +1: a window not aligned to the LR grid straddles one more LR pixel
    length = min(math.ceil(window_size / factor) + 1 + 2 * margin, lowres_size)
    first = min(max(start // factor - margin, 0), lowres_size - length)
    return first, length


def make_batch(pairs, indices, *, mode, margin, rng=None):
    """Inputs, targets and window corners of a batch, augmented when ``rng`` is given.

    Parameters
    ----------
    pairs : PairSet
    indices : sequence of int
    mode : {"full", "crop"}
    margin : int
        LR pixels of context in crop mode.
    rng : numpy.random.Generator or None
        Draws the flip and rotation of each pair; None means no augmentation.

    Returns
    -------
    lowres : ndarray, (B, 1, h', w')
        Whole LR maps, or crops in crop mode.
    highres : ndarray, (B, 1, H', W')
    positions : ndarray, (B, 2) int64
        Window corners in the upscaled model input.
    """
    lowres_batch, highres_batch, position_batch = [], [], []
    for index in indices:
        lowres, highres, position = pairs.lowres[index], pairs.highres[index], pairs.positions[index]
        if rng is not None:
            # quarter turns would change the batch's shapes unless both map and window are square
            square = lowres.shape[0] == lowres.shape[1] and highres.shape[0] == highres.shape[1]
            flip = bool(rng.integers(2))
            rotations = int(rng.integers(4)) if square else 2 * int(rng.integers(2))
            lowres, highres, position = augment_pair(lowres, highres, position, flip, rotations, pairs.factor)
        x, y = position
        if mode == "crop":
            row, rows = crop_bounds(y, highres.shape[0], lowres.shape[0], margin, pairs.factor)
            col, cols = crop_bounds(x, highres.shape[1], lowres.shape[1], margin, pairs.factor)
            lowres = lowres[row : row + rows, col : col + cols]
            x, y = x - pairs.factor * col, y - pairs.factor * row
        lowres_batch.append(lowres)
        highres_batch.append(highres)
        position_batch.append((x, y))
    return (
        np.stack(lowres_batch)[:, None].astype(np.float32),
        np.stack(highres_batch)[:, None].astype(np.float32),
        np.asarray(position_batch, dtype=np.int64),
    )


def extract_windows(upscaled, positions, window_shape):
    """Cut each sample's HR window out of the model output in one gather.

    Parameters
    ----------
    upscaled : torch.Tensor, (B, C, factor h, factor w)
    positions : torch.Tensor, (B, 2) int64
        (X, Y) corners.
    window_shape : (H, W)

    Returns
    -------
    torch.Tensor, (B, C, H, W)
    """
    window_rows, window_cols = window_shape
    rows = positions[:, 1, None] + torch.arange(window_rows, device=upscaled.device)  # (B, H)
    cols = positions[:, 0, None] + torch.arange(window_cols, device=upscaled.device)  # (B, W)
    batch = torch.arange(upscaled.shape[0], device=upscaled.device)[:, None, None]
    windows = upscaled.permute(0, 2, 3, 1)[batch, rows[:, :, None], cols[:, None, :]]  # (B, H, W, C)
    return windows.permute(0, 3, 1, 2)


def psnr_from_mse(mse, data_range=1.0):
    """Peak signal-to-noise ratio in dB for a mean squared error."""
    return float("inf") if mse == 0 else 10.0 * math.log10(data_range**2 / mse)


@torch.no_grad()
def evaluate_windows(model, pairs, batch_size, to_device, autocast=nullcontext):
    """Mean MSE and mean PSNR over the HR windows, feeding full LR maps.

    PSNR uses data range 1 and no clipping (targets on the LR map's scale may leave [0, 1]),
    as :mod:`ramansr.metrics` does.

    Parameters
    ----------
    model : torch.nn.Module
    pairs : PairSet
    batch_size : int
    to_device : callable
        Turns a numpy batch into a tensor on the model's device.
    autocast : callable
        Returns the context manager to run the model in.

    Returns
    -------
    dict
        ``val_loss`` and ``val_psnr``.
    """
    model.eval()
    squared_errors = []
    for start in range(0, len(pairs), batch_size):
        indices = range(start, min(start + batch_size, len(pairs)))
        lowres, highres, positions = (to_device(array) for array in make_batch(pairs, indices, mode="full", margin=0))
        with autocast():
            windows = extract_windows(model(lowres), positions, highres.shape[-2:]).float()
        squared_errors.append(((windows - highres) ** 2).mean(dim=(1, 2, 3)))
    psnrs = [psnr_from_mse(value) for value in torch.cat(squared_errors).tolist()]
    return {"val_loss": torch.cat(squared_errors).mean().item(), "val_psnr": float(np.mean(psnrs))}


class _Run:
    """Everything one training run moves between batches, epochs and checkpoints."""

    def __init__(self, model_name, settings, device, factor, pipeline=None):
        self.model_name = model_name
        self.settings = settings
        self.device = device
        self.model_kwargs = {**settings["model"], "scaling_factor": int(factor)}
        self.pipeline = pipeline
        self.precision = configure_precision(model_name, settings["precision"], device)
        torch.manual_seed(settings["seed"])
        self.model = build(model_name, **self.model_kwargs).to(device)
        self.optimisers = {"model": torch.optim.Adam(self.model.parameters(), lr=settings["learning_rate"])}
        self.discriminator = None
        self.inputs = None  # fingerprint of the training data, set by train_model
        self.intensity_convention = None  # of the training data, set by train_model
        if model_name == "srgan":
            self.discriminator = Discriminator(**settings["discriminator"]).to(device)
            self.optimisers["discriminator"] = torch.optim.Adam(
                self.discriminator.parameters(), lr=settings["learning_rate"]
            )
        if self.precision == "bf16":
            for network in self.networks():
                network.to(memory_format=torch.channels_last)
        self.epoch = 0
        self.history = []
        self.best_val_psnr = -math.inf
        self.best_epoch = None

    def networks(self):
        """The networks being trained: the model, and the discriminator for srgan."""
        return [network for network in (self.model, self.discriminator) if network is not None]

    def autocast(self):
        """bf16 autocast when that precision is on, else a no-op context."""
        if self.precision == "bf16":
            return torch.autocast(device_type=self.device.type, dtype=torch.bfloat16)
        return nullcontext()

    def to_device(self, array):
        """A numpy batch as a tensor on the run's device, channels-last for bf16."""
        tensor = torch.from_numpy(array).to(self.device, non_blocking=True)
        if self.precision == "bf16" and tensor.dim() == 4:
            tensor = tensor.contiguous(memory_format=torch.channels_last)
        return tensor

    def initialise_generator(self, checkpoint_path):
        """Start the srgan generator from a trained srresnet, as the paper does."""
        checkpoint = torch.load(checkpoint_path, map_location=self.device, weights_only=True)
        if checkpoint["model_name"] not in {"srresnet", "srgan"}:
            raise ValueError(f"init_from must be an srresnet checkpoint, got a {checkpoint['model_name']} one")
        self.model.load_state_dict(checkpoint["model_state"])

    def train_step(self, lowres, highres, positions):
        """One optimiser step; returns the batch's losses as detached scalar tensors."""
        mse = nn.functional.mse_loss
        bce = nn.functional.binary_cross_entropy_with_logits
        with self.autocast():
            windows = extract_windows(self.model(lowres), positions, highres.shape[-2:]).float()
            content_loss = mse(windows, highres)
            if self.discriminator is None:
                generator_loss = content_loss
            else:
                fake_logits = self.discriminator(windows)
                adversarial_loss = bce(fake_logits.float(), torch.ones_like(fake_logits, dtype=torch.float32))
                generator_loss = content_loss + self.settings["adversarial_weight"] * adversarial_loss
        self.optimisers["model"].zero_grad(set_to_none=True)
        generator_loss.backward()
        self.optimisers["model"].step()
        losses = {"train_loss": content_loss.detach()}
        if self.discriminator is not None:
            with self.autocast():
                real_logits = self.discriminator(highres).float()
                fake_logits = self.discriminator(windows.detach()).float()
                discriminator_loss = bce(real_logits, torch.ones_like(real_logits)) + bce(
                    fake_logits, torch.zeros_like(fake_logits)
                )
            # also clears the gradients the generator step left in the discriminator
            self.optimisers["discriminator"].zero_grad(set_to_none=True)
            discriminator_loss.backward()
            self.optimisers["discriminator"].step()
            losses.update(adversarial_loss=adversarial_loss.detach(), discriminator_loss=discriminator_loss.detach())
        return losses

    def train_epoch(self, pairs):
        """One pass over ``pairs`` in a shuffled order fixed by (seed, epoch), so a resumed run repeats it."""
        for network in self.networks():
            network.train()
        rng = np.random.default_rng([self.settings["seed"], self.epoch])
        order = rng.permutation(len(pairs))
        totals = {}
        for start in range(0, len(order), self.settings["batch_size"]):
            indices = order[start : start + self.settings["batch_size"]]
            arrays = make_batch(
                pairs,
                indices,
                mode=self.settings["mode"],
                margin=self.settings["margin"],
                rng=rng if self.settings["augment"] else None,
            )
            losses = self.train_step(*(self.to_device(array) for array in arrays))
            for key, value in losses.items():
                totals[key] = totals.get(key, 0.0) + value * len(indices)
        # one device-to-host copy per epoch rather than per step keeps the GPU busy
        return {key: value.item() / len(pairs) for key, value in totals.items()}

    def validate(self, pairs):
        """Validation loss and PSNR of the model, see :func:`evaluate_windows`."""
        return evaluate_windows(self.model, pairs, self.settings["batch_size"], self.to_device, self.autocast)

    def state(self):
        """The checkpoint dictionary; holds only tensors and plain Python values."""
        rng_states = {"torch": torch.get_rng_state()}
        if torch.cuda.is_available():
            rng_states["cuda"] = torch.cuda.get_rng_state_all()
        state = {
            "model_name": self.model_name,
            "model_kwargs": self.model_kwargs,
            "pipeline": self.pipeline,
            "model_state": self.model.state_dict(),
            "optimiser_states": {name: optimiser.state_dict() for name, optimiser in self.optimisers.items()},
            "epoch": self.epoch,
            "history": self.history,
            "best_val_psnr": self.best_val_psnr,
            "best_epoch": self.best_epoch,
            "rng_states": rng_states,
            "settings": self.settings,
            "inputs": self.inputs,
            "intensity_convention": self.intensity_convention,
        }
        if self.discriminator is not None:
            state["discriminator_state"] = self.discriminator.state_dict()
        return state

    def restore(self, state):
        """Continue from a ``last.pt`` dictionary."""
        self.model.load_state_dict(state["model_state"])
        if self.discriminator is not None:
            self.discriminator.load_state_dict(state["discriminator_state"])
        for name, optimiser in self.optimisers.items():
            optimiser.load_state_dict(state["optimiser_states"][name])
        self.epoch = state["epoch"]
        self.history = state["history"]
        self.best_val_psnr = state["best_val_psnr"]
        self.best_epoch = state["best_epoch"]
        torch.set_rng_state(state["rng_states"]["torch"])
        if "cuda" in state["rng_states"] and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(state["rng_states"]["cuda"])


def save_checkpoint(state, path):
    """``torch.save`` to a temporary file beside ``path``, then rename: a kill never leaves half a file."""
    with atomic_path(path) as temporary:
        torch.save(state, temporary)


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
    state = torch.load(path, map_location="cpu", weights_only=True)
    differing = sorted(
        key for key in settings if key not in RESUMABLE_CHANGES and state["settings"].get(key) != settings[key]
    )
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


def intensity_convention(pairs_path):
    """The ``intensity_convention`` a pair set was written with (None for pair sets older than it)."""
    with np.load(pairs_path) as pairs:
        return str(pairs["intensity_convention"]) if "intensity_convention" in pairs.files else None


def _train_baseline(model_name, val_pairs, out_dir, settings, device, factor, pipeline, convention):
    """Interpolation needs no training: write name-only checkpoints and return the validation score."""
    model_kwargs = {**settings["model"], "scaling_factor": int(factor)}
    model = build(model_name, **model_kwargs).to(device)
    validation = {"val_loss": None, "val_psnr": None}
    if len(val_pairs):
        validation = evaluate_windows(
            model, val_pairs, settings["batch_size"], lambda array: torch.from_numpy(array).to(device)
        )
    state = {
        "model_name": model_name,
        "model_kwargs": model_kwargs,
        "pipeline": pipeline,
        "model_state": None,
        "epoch": 0,
        "settings": settings,
        "history": [],
        "intensity_convention": convention,
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
        :mod:`ramansr.predict`: see :func:`ramansr.predict.pipeline_settings`.
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
    train_pairs = load_pairs(pairs_path, split_path, "train")
    val_pairs = load_pairs(pairs_path, split_path, "val")
    factor = train_pairs.factor
    summary = {
        "model_name": model_name,
        "settings": settings,
        "device": str(device),
        "factor": factor,
        "n_train": len(train_pairs),
        "n_val": len(val_pairs),
    }

    if not is_trainable(model_name):
        validation = _train_baseline(
            model_name, val_pairs, out_dir, settings, device, factor, pipeline, intensity_convention(pairs_path)
        )
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

    run = _Run(model_name, settings, device, factor, pipeline)
    fingerprint = input_fingerprint(pairs_path, split_path, settings["init_from"])
    run.inputs = fingerprint
    run.intensity_convention = intensity_convention(pairs_path)
    resumed = _resume_state(out_dir, settings, fingerprint)
    if resumed is not None:
        run.restore(resumed)
    else:
        (out_dir / BEST_SO_FAR).unlink(missing_ok=True)
        if model_name == "srgan" and settings["init_from"]:
            run.initialise_generator(settings["init_from"])
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
            if row["val_psnr"] > run.best_val_psnr:
                run.best_val_psnr, run.best_epoch = row["val_psnr"], run.epoch
                save_checkpoint(run.state(), out_dir / BEST_SO_FAR)
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
    write_json(summary, out_dir / "summary.json")
    return summary


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


def load_model(checkpoint_path, device=None):
    """Rebuild a model from a checkpoint of :func:`train_model`, in eval mode.

    Parameters
    ----------
    checkpoint_path : path-like
        ``best.pt`` or ``last.pt`` (a baseline's name-only checkpoint works too).
    device : str or torch.device or None
        None picks CUDA when available, else CPU.

    Returns
    -------
    torch.nn.Module
    """
    device = pick_device(device)
    checkpoint = torch.load(checkpoint_path, map_location=device, weights_only=True)
    model = build(checkpoint["model_name"], **checkpoint["model_kwargs"])
    if checkpoint["model_state"] is not None:
        model.load_state_dict(checkpoint["model_state"])
    return model.to(device).eval()


def checkpoint_factor(checkpoint):
    """The SR factor a checkpoint (a path or a loaded dict) was trained for."""
    if not isinstance(checkpoint, dict):
        checkpoint = torch.load(checkpoint, map_location="cpu", weights_only=True, mmap=True)
    if "scaling_factor" not in checkpoint["model_kwargs"]:
        raise ValueError(
            f"the {checkpoint['model_name']} checkpoint records no SR factor: it predates "
            "geometry-aware training; retrain it"
        )
    return int(checkpoint["model_kwargs"]["scaling_factor"])


@torch.no_grad()
def super_resolve(model, lowres_maps, device=None, batch_size=16):
    """Upscale maps by the model's SR factor, without gradients, in fp32.

    Parameters
    ----------
    model : torch.nn.Module
    lowres_maps : ndarray, (n, h, w) or (h, w)
    device : str or torch.device or None
        None uses the model's device (CPU for parameter-free models).
    batch_size : int
        Maps per forward pass.

    Returns
    -------
    ndarray of float32, (n, factor h, factor w), or (factor h, factor w) for a single (h, w) map.
    """
    lowres_maps = np.asarray(lowres_maps, dtype=np.float32)
    single = lowres_maps.ndim == 2
    batch = lowres_maps[None] if single else lowres_maps
    if device is None:
        parameter = next(model.parameters(), None)
        device = parameter.device if parameter is not None else torch.device("cpu")
    model = model.to(device).eval()
    outputs = []
    for start in range(0, len(batch), batch_size):
        lowres = torch.from_numpy(np.ascontiguousarray(batch[start : start + batch_size, None])).to(device)
        outputs.append(model(lowres)[:, 0].float().cpu().numpy())
    upscaled = np.concatenate(outputs).astype(np.float32)
    return upscaled[0] if single else upscaled
