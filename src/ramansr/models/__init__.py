"""Super-resolution models, all mapping (N, 1, h, w) maps to (N, 1, factor h, factor w).

Every model is built for the run's SR factor (``scaling_factor``, from
:mod:`ramansr.geometry`); none has a default.

Use :func:`build` with a config name; :data:`TRAINABLE` lists the names that
need training (the interpolation baselines do not).
"""

from functools import partial

from ramansr.models.interpolation import Interpolation
from ramansr.models.rcan import RCAN
from ramansr.models.srcnn import SRCNN
from ramansr.models.srgan import Discriminator, Generator
from ramansr.models.srresnet import SRResNet

MODELS = {
    "linear": partial(Interpolation, mode="bilinear"),
    "bicubic": partial(Interpolation, mode="bicubic"),
    "srcnn": SRCNN,
    "srresnet": SRResNet,
    "srgan": Generator,
    "rcan": RCAN,
}
"""Config name -> model constructor ("srgan" builds the generator)."""

TRAINABLE = ("srcnn", "srresnet", "srgan", "rcan")
"""Config names of the models with learnable parameters."""


def build(name, **kwargs):
    """Build a model from its config name.

    Parameters
    ----------
    name : str
        One of ``MODELS``: "linear", "bicubic", "srcnn", "srresnet", "srgan", "rcan".
    **kwargs
        Passed to the model's constructor (sizes such as ``n_blocks``).

    Returns
    -------
    torch.nn.Module
        The model, freshly initialised.

    Raises
    ------
    ValueError
        If ``name`` is not a known model.
    """
    _check_known(name)
    return MODELS[name](**kwargs)


def is_trainable(name):
    """Whether the model called ``name`` has parameters to train.

    Raises
    ------
    ValueError
        If ``name`` is not a known model.
    """
    _check_known(name)
    return name in TRAINABLE


def _check_known(name):
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; known models: {', '.join(MODELS)}")


__all__ = [
    "MODELS",
    "RCAN",
    "SRCNN",
    "TRAINABLE",
    "Discriminator",
    "Generator",
    "Interpolation",
    "SRResNet",
    "build",
    "is_trainable",
]
