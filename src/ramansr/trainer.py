"""One training run on the device: model, optimisers, precision, steps, epochs, validation.

:class:`TrainingRun` holds what a run moves between batches, epochs and checkpoints;
:func:`ramansr.train.train_model` drives it, and decides what is written to disk and when. The loss is
the MSE on each pair's HR window only (:func:`ramansr.pairs.extract_windows`), plus the adversarial
loss for srgan; validation feeds whole LR maps and reports the windows' PSNR (data range 1). For a
joint model both count only the channels that hold a map (:attr:`ramansr.pairs.PairSet.mask`), and
the validation PSNR is the mean over maps, as for the single-map models.
"""

import math
from contextlib import nullcontext

import numpy as np
import torch
from torch import nn

from ramansr.checkpoint import read_checkpoint
from ramansr.models import AUTO_PRECISION, build, is_trainable
from ramansr.models.srgan import Discriminator
from ramansr.models.upsampling import PADDING_MODE
from ramansr.pairs import extract_windows, make_batch


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
        precision = AUTO_PRECISION[model_name]
    allow_tf32 = precision != "fp32"
    torch.backends.cuda.matmul.allow_tf32 = allow_tf32
    torch.backends.cudnn.allow_tf32 = allow_tf32
    # every batch has one of at most three shapes, so cuDNN's algorithm search pays off
    torch.backends.cudnn.benchmark = True
    return precision


def learning_rate_factor(step, total_steps, warmup_steps):
    """The multiplier of the base learning rate at optimiser step ``step`` (counted from 0).

    A linear warm-up over ``warmup_steps`` (the first steps of a fresh network are the least stable), then
    a cosine decay to zero at ``total_steps``: large steps while far from a minimum, small ones to settle.

    Parameters
    ----------
    step : int
    total_steps : int
        Steps of the whole run (epochs x steps per epoch).
    warmup_steps : int

    Returns
    -------
    float
        In [0, 1].
    """
    if step < warmup_steps:
        return (step + 1) / warmup_steps
    progress = min(1.0, (step - warmup_steps) / max(1, total_steps - warmup_steps))
    return 0.5 * (1.0 + math.cos(math.pi * progress))


def model_arguments(model_name, settings, factor, n_maps=None):
    """The constructor arguments of a run's model: the settings' ``model``, the SR factor, a joint
    model's channel count, and a network's padding mode (so that its checkpoint records it).

    Parameters
    ----------
    model_name : str
    settings : dict
        Resolved training settings (their ``model`` entry).
    factor : int
        The SR factor.
    n_maps : int or None
        A joint model's channels (the run's number of components); None for single-map models.

    Raises
    ------
    ValueError
        If the settings give a joint model another ``in_channels`` than ``n_maps``.
    """
    arguments = {**settings["model"], "scaling_factor": int(factor)}
    if is_trainable(model_name):
        arguments.setdefault("padding_mode", PADDING_MODE)
    if n_maps is not None:
        if arguments.get("in_channels", n_maps) != n_maps:
            raise ValueError(
                f"model_settings: {model_name}: model: in_channels is {arguments['in_channels']}, but a joint "
                f"model takes the run's {n_maps} component maps (decompose: n_components); leave it out"
            )
        arguments["in_channels"] = int(n_maps)
    return arguments


def masked_mse(prediction, target, mask):
    """The MSE over the channels that hold a map.

    Parameters
    ----------
    prediction, target : torch.Tensor, (B, C, H, W)
    mask : torch.Tensor, (B, C) bool
        False for a channel without a map (a component selection dropped): its zeros are no target.

    Returns
    -------
    torch.Tensor
        Scalar; with every channel kept, the plain MSE.
    """
    weights = mask[:, :, None, None].to(prediction.dtype).expand_as(prediction)
    return ((prediction - target) ** 2 * weights).sum() / weights.sum()


def psnr_from_mse(mse, data_range=1.0):
    """Peak signal-to-noise ratio in dB for a mean squared error."""
    return float("inf") if mse == 0 else 10.0 * math.log10(data_range**2 / mse)


@torch.no_grad()
def evaluate_windows(model, pairs, batch_size, to_device, autocast=nullcontext):
    """Mean MSE and mean PSNR over the HR windows (of every map a sample holds), feeding full LR maps.

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
        per_map = ((windows - highres) ** 2).mean(dim=(2, 3))  # (B, C)
        squared_errors.append(per_map[torch.from_numpy(pairs.mask[indices]).to(per_map.device)])
    psnrs = [psnr_from_mse(value) for value in torch.cat(squared_errors).tolist()]
    return {"val_loss": torch.cat(squared_errors).mean().item(), "val_psnr": float(np.mean(psnrs))}


class TrainingRun:
    """Everything one training run moves between batches, epochs and checkpoints."""

    def __init__(self, model_name, settings, device, factor, pipeline=None, steps_per_epoch=1, n_maps=None):
        self.model_name = model_name
        self.settings = settings
        self.device = device
        self.n_maps = n_maps  # a joint model's channels; None for single-map models
        self.model_kwargs = model_arguments(model_name, settings, factor, n_maps)
        self.pipeline = pipeline
        self.precision = configure_precision(model_name, settings["precision"], device)
        torch.manual_seed(settings["seed"])
        self.model = build(model_name, **self.model_kwargs).to(device)
        self.optimisers = {"model": torch.optim.Adam(self.model.parameters(), lr=settings["learning_rate"])}
        self.discriminator = None
        self.inputs = None  # fingerprint of the training data, set by train_model
        self.intensity_convention = None  # of the training data, set by train_model
        self.steps_um = None  # the training data's LR and HR steps, set by train_model
        self.pretrained = None  # what pretraining on synthetic pairs did (ramansr.pretrain.pretrain), if it ran
        if model_name == "srgan":
            self.discriminator = Discriminator(**settings["discriminator"]).to(device)
            self.optimisers["discriminator"] = torch.optim.Adam(
                self.discriminator.parameters(), lr=settings["learning_rate"]
            )
        self.schedulers = {}
        if settings["schedule"] == "cosine":
            total_steps = settings["epochs"] * steps_per_epoch
            warmup_steps = settings["warmup_epochs"] * steps_per_epoch
            self.schedulers = {
                name: torch.optim.lr_scheduler.LambdaLR(
                    optimiser, lambda step: learning_rate_factor(step, total_steps, warmup_steps)
                )
                for name, optimiser in self.optimisers.items()
            }
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
        checkpoint = read_checkpoint(checkpoint_path, self.device)
        if checkpoint["model_name"] not in {"srresnet", "srgan"}:
            raise ValueError(f"init_from must be an srresnet checkpoint, got a {checkpoint['model_name']} one")
        if checkpoint["model_kwargs"] != self.model_kwargs:
            raise ValueError(
                f"the srgan generator ({self.model_kwargs}) must have the architecture of the srresnet it starts "
                f"from ({checkpoint_path}: {checkpoint['model_kwargs']}): give model_settings: srgan: model: "
                "the srresnet's model settings"
            )
        self.model.load_state_dict(checkpoint["model_state"])

    def train_step(self, lowres, highres, positions, mask):
        """One optimiser step; returns the batch's losses as detached scalar tensors.

        ``mask`` (B, C) bool marks the channels that hold a map (see :func:`masked_mse`).
        """
        bce = nn.functional.binary_cross_entropy_with_logits
        with self.autocast():
            windows = extract_windows(self.model(lowres), positions, highres.shape[-2:]).float()
            content_loss = masked_mse(windows, highres, mask)
            if self.discriminator is None:
                generator_loss = content_loss
            else:
                fake_logits = self.discriminator(windows)
                adversarial_loss = bce(fake_logits.float(), torch.ones_like(fake_logits, dtype=torch.float32))
                generator_loss = content_loss + self.settings["adversarial_weight"] * adversarial_loss
        self.optimisers["model"].zero_grad(set_to_none=True)
        generator_loss.backward()
        self.optimisers["model"].step()
        if "model" in self.schedulers:
            self.schedulers["model"].step()
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
            if "discriminator" in self.schedulers:
                self.schedulers["discriminator"].step()
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
                patch=self.settings["patch"],
            )
            losses = self.train_step(*(self.to_device(array) for array in (*arrays, pairs.mask[indices])))
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
            # a joint model's maps per area (also its in_channels); None: one map at a time
            "joint_maps": self.n_maps,
            "pipeline": self.pipeline,
            "model_state": self.model.state_dict(),
            "optimiser_states": {name: optimiser.state_dict() for name, optimiser in self.optimisers.items()},
            "scheduler_states": {name: scheduler.state_dict() for name, scheduler in self.schedulers.items()},
            "epoch": self.epoch,
            "history": self.history,
            "best_val_psnr": self.best_val_psnr,
            "best_epoch": self.best_epoch,
            "rng_states": rng_states,
            "settings": self.settings,
            "inputs": self.inputs,
            "intensity_convention": self.intensity_convention,
            "steps_um": self.steps_um,
        }
        if self.discriminator is not None:
            state["discriminator_state"] = self.discriminator.state_dict()
        if self.pretrained is not None:
            state["pretrain"] = self.pretrained
        return state

    def restore(self, state):
        """Continue from a ``last.pt`` dictionary."""
        self.model.load_state_dict(state["model_state"])
        if self.discriminator is not None:
            self.discriminator.load_state_dict(state["discriminator_state"])
        for name, optimiser in self.optimisers.items():
            optimiser.load_state_dict(state["optimiser_states"][name])
        for name, scheduler in self.schedulers.items():
            scheduler.load_state_dict(state["scheduler_states"][name])
        self.epoch = state["epoch"]
        self.history = state["history"]
        self.best_val_psnr = state["best_val_psnr"]
        self.best_epoch = state["best_epoch"]
        self.pretrained = state.get("pretrain")
        torch.set_rng_state(state["rng_states"]["torch"])
        if "cuda" in state["rng_states"] and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(state["rng_states"]["cuda"])
