"""Load a trained model and apply it: the part of training that scoring, figures and prediction need.

:func:`load_model` rebuilds a model from a checkpoint of :func:`ramansr.train.train_model` (or a
baseline's name-only one; :mod:`ramansr.checkpoint` reads them), and :func:`super_resolve` upscales LR
maps with it in fp32, without gradients: one map at a time, or, for a joint model
(:func:`ramansr.checkpoint.checkpoint_joint_maps`), the stacks of an area's maps (``stacks=True``).
:func:`super_resolve_pairs` upscales the pairs of a pair set with either kind. :func:`use_threads` keeps
torch's CPU work to a job's declared threads.
"""

import numpy as np
import torch

from ramansr.checkpoint import checkpoint_joint_maps, read_checkpoint
from ramansr.models import build, is_trainable
from ramansr.pairs import area_channels, stack_channels


def use_threads(threads):
    """Run torch's CPU work on ``threads`` threads, the job's share of the cores.

    Left alone, torch takes every core of the machine, beside the jobs Snakemake
    runs on the others (a training job declares 8 threads; on a 32-core
    workstation torch would start 32).
    """
    torch.set_num_threads(max(1, int(threads)))


def pick_device(device=None):
    """``device`` as a torch.device; CUDA when available if None."""
    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def load_model(checkpoint, device=None):
    """Rebuild a model from a checkpoint of :func:`ramansr.train.train_model`, in eval mode.

    Parameters
    ----------
    checkpoint : path-like or dict
        ``best.pt`` or ``last.pt`` (a baseline's name-only checkpoint works too), or one already
        read with :func:`ramansr.checkpoint.read_checkpoint`.
    device : str or torch.device or None
        None picks CUDA when available, else CPU.

    Returns
    -------
    torch.nn.Module
    """
    device = pick_device(device)
    checkpoint = read_checkpoint(checkpoint, device)
    kwargs = checkpoint["model_kwargs"]
    if is_trainable(checkpoint["model_name"]):
        # a checkpoint that records no padding mode was trained with torch's zero padding
        kwargs = {"padding_mode": "zeros", **kwargs}
    model = build(checkpoint["model_name"], **kwargs)
    if checkpoint["model_state"] is not None:
        model.load_state_dict(checkpoint["model_state"])
    return model.to(device).eval()


# LR pixels per forward pass: the HR activations of a batch dominate peak memory (8 maps of 100 x 100,
# with SRCNN's 64 channels at 400 x 400: about 330 MB per activation); a 300 x 300 map goes alone
LOWRES_PIXELS_PER_BATCH = 8 * 100 * 100


@torch.no_grad()
def super_resolve(model, lowres_maps, device=None, batch_size=None, *, stacks=False):
    """Upscale maps by the model's SR factor, without gradients, in fp32.

    The model runs in channels-last memory format (moved in place), which
    oneDNN's CPU convolutions run about 1.3-1.6x faster than the default
    layout; results differ from the default layout's by float rounding only.

    Parameters
    ----------
    model : torch.nn.Module
    lowres_maps : ndarray, (n, h, w) or (h, w); with ``stacks``, (n, C, h, w)
    device : str or torch.device or None
        None uses the model's device (CPU for parameter-free models).
    batch_size : int or None
        Maps (or stacks) per forward pass; None: as many as hold ``LOWRES_PIXELS_PER_BATCH``
        LR pixels, at least one.
    stacks : bool
        The maps are stacks of C channels for a joint model, each stack one input.

    Returns
    -------
    ndarray of float32, (n, factor h, factor w), or (factor h, factor w) for a single (h, w) map;
    with ``stacks``, (n, C, factor h, factor w).
    """
    lowres_maps = np.asarray(lowres_maps, dtype=np.float32)
    single = lowres_maps.ndim == 2
    batch = lowres_maps if stacks else (lowres_maps[None] if single else lowres_maps)[:, None]
    if device is None:
        parameter = next(model.parameters(), None)
        device = parameter.device if parameter is not None else torch.device("cpu")
    model = model.to(device, memory_format=torch.channels_last).eval()
    if batch_size is None:
        batch_size = max(1, LOWRES_PIXELS_PER_BATCH // (batch.shape[-2] * batch.shape[-1]))
    outputs = []
    for start in range(0, len(batch), batch_size):
        lowres = torch.from_numpy(np.ascontiguousarray(batch[start : start + batch_size])).to(device)
        lowres = lowres.contiguous(memory_format=torch.channels_last)
        outputs.append(model(lowres).float().cpu().numpy())
    upscaled = np.concatenate(outputs).astype(np.float32)
    if stacks:
        return upscaled
    return upscaled[0, 0] if single else upscaled[:, 0]


def super_resolve_pairs(checkpoint_path, lowres_maps, table, device=None):
    """Every pair's LR map upscaled by a trained model: map by map, or for a joint model each area's maps
    in one pass (a component the table lacks enters as zeros, as in training).

    Parameters
    ----------
    checkpoint_path : path-like
        ``best.pt`` of :func:`ramansr.train.train_model`.
    lowres_maps : ndarray, (n, h, w)
    table : pandas.DataFrame
        ``sample``, ``area`` and ``component`` of each map (``split.csv``'s rows), aligned with ``lowres_maps``.
    device : str or torch.device or None
        None picks CUDA when available, else CPU.

    Returns
    -------
    ndarray of float32, (n, factor h, factor w), aligned with ``lowres_maps``.
    """
    checkpoint = read_checkpoint(checkpoint_path)
    model = load_model(checkpoint, device)
    n_maps = checkpoint_joint_maps(checkpoint)
    if n_maps is None:
        return super_resolve(model, lowres_maps)
    _, index = area_channels(table, n_maps)
    upscaled = super_resolve(model, stack_channels(np.asarray(lowres_maps, np.float32), index), stacks=True)
    present = index >= 0
    result = np.empty((len(table), *upscaled.shape[2:]), dtype=np.float32)
    result[index[present]] = upscaled[present]
    return result
