"""Checkpoints: where they are written and read, and what a reader checks first.

A checkpoint (``best.pt``, ``last.pt`` of :func:`ramansr.train.train_model`, or a parameter-free
baseline's name-only one) is a dict: ``model_name``, ``model_kwargs`` (with the ``scaling_factor``),
``model_state`` (None for a baseline), ``pipeline`` (the processing settings,
:mod:`ramansr.processing`), ``intensity_convention``, ``steps_um``, ``joint_maps`` (a joint model's
maps per area) and, for a training run's, the optimiser state, history and settings. Every reader
loads it with :func:`read_checkpoint` once and passes the dict on.
"""

import torch

from ramansr.io_utils import atomic_path


def save_checkpoint(state, path):
    """``torch.save`` to a temporary file beside ``path``, then rename: a kill never leaves half a file."""
    with atomic_path(path) as temporary:
        torch.save(state, temporary)


def read_checkpoint(checkpoint, device="cpu"):
    """A checkpoint as a dict: loaded from a path (once), or passed through when already loaded.

    Memory-mapped: a GAN's checkpoint also holds the discriminator and optimiser states, which
    most readers never touch. ``weights_only``: a checkpoint holds tensors and plain data alone.
    """
    if isinstance(checkpoint, dict):
        return checkpoint
    return torch.load(checkpoint, map_location=device, weights_only=True, mmap=True)


def checkpoint_joint_maps(checkpoint):
    """A joint model's maps per area (a checkpoint path or a loaded dict); None for a single-map model."""
    return read_checkpoint(checkpoint).get("joint_maps")


def checkpoint_factor(checkpoint):
    """The SR factor a checkpoint (a path or a loaded dict) was trained for."""
    checkpoint = read_checkpoint(checkpoint)
    if "scaling_factor" not in checkpoint["model_kwargs"]:
        raise ValueError(
            f"the {checkpoint['model_name']} checkpoint records no SR factor: it predates "
            "geometry-aware training; retrain it"
        )
    return int(checkpoint["model_kwargs"]["scaling_factor"])


def check_convention(checkpoint, path):
    """The checkpoint's model name, after checking it was trained on today's intensity convention.

    Parameters
    ----------
    checkpoint : dict
        A loaded checkpoint.
    path : path-like
        Where it came from, for the error.

    Raises
    ------
    ValueError
        For a checkpoint trained on another convention (one without the
        field predates it: each map min-max normalised on its own, whose
        outputs have no known intensity scale).
    """
    from ramansr.convention import INTENSITY_CONVENTION

    convention = checkpoint.get("intensity_convention")
    if convention != INTENSITY_CONVENTION:
        raise ValueError(
            f"{path}: trained on intensity convention {convention!r} (None: each map min-max normalised "
            f"on its own, an older pair set), not {INTENSITY_CONVENTION!r}; its outputs' intensity scale is unknown. "
            "Retrain it on a pair set written by this version (snakemake --forcerun dataset)"
        )
    return checkpoint["model_name"]
