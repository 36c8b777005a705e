"""How a model reaches the run's SR factor: PixelShuffle stages, and the bicubic map a skip adds."""

from torch import nn
from torch.nn import functional as F


def pixel_shuffle_stages(scaling_factor):
    """The x2 and x3 PixelShuffle stages, largest first, whose product is ``scaling_factor``.

    Parameters
    ----------
    scaling_factor : int
        The run's SR factor (see :mod:`ramansr.geometry`), e.g. 2, 3, 4, 6 or 8.

    Returns
    -------
    list of int
        E.g. [2, 2] for 4, [3] for 3, [3, 2] for 6.

    Raises
    ------
    ValueError
        If the factor is not a product of 2s and 3s.
    """
    remaining, stages = int(scaling_factor), []
    for stage in (3, 2):
        while remaining > 1 and remaining % stage == 0:
            stages.append(stage)
            remaining //= stage
    if remaining != 1 or not stages:
        raise ValueError(f"scaling_factor must be a product of 2s and 3s (2, 3, 4, 6, 8, ...), got {scaling_factor}")
    return stages


def bicubic(lowres, scaling_factor):
    """(N, C, h, w) maps upscaled bicubically to (N, C, factor h, factor w), half-pixel aligned."""
    return F.interpolate(lowres, scale_factor=scaling_factor, mode="bicubic", align_corners=False)


def start_at_zero(layer):
    """Zero a layer's weights and bias: a network whose last layer this is starts by returning zero,
    so with a bicubic skip (``bicubic_skip``) the untrained model is exactly bicubic interpolation."""
    nn.init.zeros_(layer.weight)
    nn.init.zeros_(layer.bias)
