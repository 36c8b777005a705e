"""How a model reaches the run's SR factor (PixelShuffle stages, the bicubic map a skip adds), and how its
convolutions treat the map's border."""

import math

from torch import nn
from torch.nn import functional as F

#: How the SR models' convolutions pad: the border pixels continued outwards, so that a map's edge is
#: treated like its interior. Zero padding (torch's default) reads a dark surround that the networks
#: turn into a dark frame (issue 26: the outer LR pixel's strip 0.07-0.20 of the map's range below
#: bicubic). Checkpoints record their mode; one without it was trained zero-padded and loads so.
PADDING_MODE = "replicate"


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


def shuffle_margin(stages, kernel_sizes):
    """LR pixels of context that the convolutions after a model's PixelShuffle stages reach.

    Continuing a map's border pixels keeps a feature map constant where the map is, but after a
    PixelShuffle a feature map is a sub-pixel pattern, which replicating its edge pixels does not
    continue: the convolutions there would still draw a frame. A model pads its LR input by this
    many pixels (replicating the border) and crops the margin off its output, so that the frame
    falls outside the map.

    Parameters
    ----------
    stages : list of int
        The PixelShuffle stages (:func:`pixel_shuffle_stages`).
    kernel_sizes : list of int
        The kernel size of the convolution after each stage.

    Returns
    -------
    int
    """
    reach, scale = 0.0, 1
    for stage, kernel_size in zip(stages, kernel_sizes, strict=True):
        scale *= stage
        reach += (kernel_size // 2) / scale  # in LR pixels
    return math.ceil(reach)


def pad_border(lowres, margin):
    """(N, C, h, w) maps continued by ``margin`` pixels on every side, their border pixels replicated."""
    return F.pad(lowres, (margin, margin, margin, margin), mode=PADDING_MODE)


def crop_border(upscaled, margin):
    """(N, C, H, W) maps without ``margin`` pixels on every side."""
    return upscaled[..., margin : upscaled.shape[-2] - margin, margin : upscaled.shape[-1] - margin]
