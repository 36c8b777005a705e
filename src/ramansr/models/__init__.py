"""Super-resolution models, all mapping (N, C, h, w) maps to (N, C, factor h, factor w).

C is 1 for the single-map models, which super-resolve one component map at a time as the paper does.
The joint models (:data:`JOINT`, e.g. "srcnn_joint") are the same architectures built with
``in_channels`` = the run's ``decompose: n_components``: they take all of an area's component maps
as channels and return all of them (see :func:`ramansr.pairs.area_channels`), so that one map's
structure can inform another's (where one phase is rich, a complementary one is poor).

Every model is built for the run's SR factor (``scaling_factor``, from
:mod:`ramansr.geometry`); none has a default.

:data:`MODELS` is the one list of the models a config may name: the config schema's enum of model
names is tested against it, and the tables of :mod:`ramansr.metrics` take their columns (the paper's
order) and display names from it. It imports no torch, so the CPU stages can read it; :func:`build`
imports a model's module when it builds one. :data:`TRAINABLE` lists the names that need training
(the interpolation and Wiener baselines do not; Wiener chooses its ``choices`` on the validation pairs).
"""

from collections.abc import Mapping
from importlib import import_module
from types import MappingProxyType
from typing import NamedTuple


class ModelEntry(NamedTuple):
    """How to build one model, and how the paper's tables name it."""

    module: str
    """Module under ``ramansr.models`` that defines the constructor."""
    constructor: str
    """Class name in that module."""
    label: str
    """The paper's display name (the tables' column header)."""
    trainable: bool
    """Whether the model has parameters to train."""
    fixed_kwargs: Mapping = MappingProxyType({})
    """Constructor arguments that make this entry (a call's own keyword arguments override them)."""
    joint: bool = False
    """Whether the model takes all of an area's component maps at once (``in_channels`` of them)."""
    choices: Mapping = MappingProxyType({})
    """Constructor arguments that a parameter-free model chooses on the validation pairs: name -> the
    candidate values (the ``train`` stage keeps the best-scoring one; a value given in the settings wins)."""
    auto_precision: str | None = None
    """What training's precision "auto" means on CUDA for a trainable model ("bf16" or "tf32": one H200
    measurement found bf16 slower than TF32 for RCAN, faster for SRResNet); None for the others."""


MODELS = {
    "linear": ModelEntry("interpolation", "Interpolation", "Linear interpolation", False, {"mode": "bilinear"}),
    "bicubic": ModelEntry("interpolation", "Interpolation", "Bicubic", False, {"mode": "bicubic"}),
    # the regulariser's balance, a factor of about 3 apart
    "wiener": ModelEntry(
        "wiener",
        "Wiener",
        "Wiener deconvolution",
        False,
        choices={"balance": (0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0)},
    ),
    "srcnn": ModelEntry("srcnn", "SRCNN", "SRCNN", True, auto_precision="bf16"),
    "rcan": ModelEntry("rcan", "RCAN", "RCAN", True, auto_precision="tf32"),
    "srgan": ModelEntry("srgan", "Generator", "SRGAN", True, auto_precision="bf16"),
    "srresnet": ModelEntry("srresnet", "SRResNet", "SRResNet", True, auto_precision="bf16"),
    "srcnn_joint": ModelEntry("srcnn", "SRCNN", "SRCNN (joint)", True, joint=True, auto_precision="bf16"),
    "srresnet_joint": ModelEntry("srresnet", "SRResNet", "SRResNet (joint)", True, joint=True, auto_precision="bf16"),
}
"""Config name -> :class:`ModelEntry`, in the column order of the paper's Tables I and II
("srgan" builds the generator), with the physics-only baseline "wiener" (known optics, no learning)
after the interpolations, then the joint models; the paper has neither."""

TRAINABLE = tuple(name for name, entry in MODELS.items() if entry.trainable)
"""Config names of the models with learnable parameters."""

JOINT = tuple(name for name, entry in MODELS.items() if entry.joint)
"""Config names of the joint models, which take all of an area's component maps as channels."""

LABELS = {name: entry.label for name, entry in MODELS.items()}
"""Config name -> the paper's display name, in the tables' column order."""

AUTO_PRECISION = {name: entry.auto_precision for name, entry in MODELS.items() if entry.trainable}
"""Config name of a trainable model -> what training's precision "auto" means for it on CUDA."""


def build(name, **kwargs):
    """Build a model from its config name.

    Parameters
    ----------
    name : str
        One of ``MODELS``: "linear", "bicubic", "wiener", "srcnn", "rcan", "srgan", "srresnet",
        "srcnn_joint", "srresnet_joint".
    **kwargs
        Passed to the model's constructor (sizes such as ``n_blocks``; ``in_channels``, the number
        of component maps, for a joint model; the optics for "wiener").

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
    entry = MODELS[name]
    constructor = getattr(import_module(f"ramansr.models.{entry.module}"), entry.constructor)
    return constructor(**{**entry.fixed_kwargs, **kwargs})


def is_trainable(name):
    """Whether the model called ``name`` has parameters to train.

    Raises
    ------
    ValueError
        If ``name`` is not a known model.
    """
    _check_known(name)
    return name in TRAINABLE


def is_joint(name):
    """Whether the model called ``name`` takes all of an area's component maps at once.

    Raises
    ------
    ValueError
        If ``name`` is not a known model.
    """
    _check_known(name)
    return name in JOINT


def _check_known(name):
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; known models: {', '.join(MODELS)}")


__all__ = [
    "AUTO_PRECISION",
    "JOINT",
    "LABELS",
    "MODELS",
    "TRAINABLE",
    "ModelEntry",
    "build",
    "is_joint",
    "is_trainable",
]
