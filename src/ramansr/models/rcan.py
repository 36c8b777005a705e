"""RCAN (Zhang et al., 2018): residual-in-residual with channel attention."""

from torch import nn

from ramansr.models.upsampling import (
    PADDING_MODE,
    bicubic,
    crop_border,
    pad_border,
    pixel_shuffle_stages,
    shuffle_margin,
    start_at_zero,
)


class ChannelAttention(nn.Module):
    """Rescale each channel by a weight computed from its global average.

    Parameters
    ----------
    n_channels : int
        Channels in and out.
    reduction : int
        Bottleneck ratio of the two 1x1 convolutions.
    """

    def __init__(self, n_channels=64, reduction=16):
        super().__init__()
        bottleneck = max(1, n_channels // reduction)
        self.squeeze = nn.AdaptiveAvgPool2d(1)
        self.excite = nn.Sequential(
            nn.Conv2d(n_channels, bottleneck, 1),
            nn.ReLU(inplace=True),
            nn.Conv2d(bottleneck, n_channels, 1),
            nn.Sigmoid(),
        )

    def forward(self, features):
        """(N, n_channels, h, w) -> (N, n_channels, h, w)."""
        return features * self.excite(self.squeeze(features))  # weights (N, n_channels, 1, 1)


class ResidualChannelAttentionBlock(nn.Module):
    """Conv-ReLU-conv, channel attention, skip connection (RCAB).

    Parameters
    ----------
    n_channels : int
        Channels in and out.
    kernel_size : int
        Kernel size of both convolutions.
    reduction : int
        Bottleneck ratio of the channel attention.
    padding_mode : str
        How the convolutions pad (``torch.nn.Conv2d``'s).
    """

    def __init__(self, n_channels=64, kernel_size=3, reduction=16, padding_mode="zeros"):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(n_channels, n_channels, kernel_size, padding=kernel_size // 2, padding_mode=padding_mode),
            nn.ReLU(inplace=True),
            nn.Conv2d(n_channels, n_channels, kernel_size, padding=kernel_size // 2, padding_mode=padding_mode),
            ChannelAttention(n_channels, reduction),
        )

    def forward(self, features):
        """(N, n_channels, h, w) -> (N, n_channels, h, w)."""
        return features + self.body(features)


class ResidualGroup(nn.Module):
    """A chain of RCABs and a convolution, with a skip across the group.

    Parameters
    ----------
    n_channels : int
        Channels in and out.
    n_blocks : int
        Number of RCABs in the group.
    kernel_size : int
        Kernel size of every convolution.
    reduction : int
        Bottleneck ratio of the channel attention.
    padding_mode : str
        How the convolutions pad (``torch.nn.Conv2d``'s).
    """

    def __init__(self, n_channels=64, n_blocks=20, kernel_size=3, reduction=16, padding_mode="zeros"):
        super().__init__()
        self.body = nn.Sequential(
            *[ResidualChannelAttentionBlock(n_channels, kernel_size, reduction, padding_mode) for _ in range(n_blocks)],
            nn.Conv2d(n_channels, n_channels, kernel_size, padding=kernel_size // 2, padding_mode=padding_mode),
        )

    def forward(self, features):
        """(N, n_channels, h, w) -> (N, n_channels, h, w)."""
        return features + self.body(features)


class RCAN(nn.Module):
    """Residual channel attention network for single-channel maps.

    Parameters
    ----------
    in_channels : int
        Channels of the input (and output) maps; 1 for component maps.
    n_groups : int
        Number of residual groups.
    n_blocks : int
        RCABs per residual group.
    n_channels : int
        Width of the network.
    reduction : int
        Bottleneck ratio of the channel attention.
    kernel_size : int
        Kernel size of every 3x3-style convolution.
    bicubic_skip : bool
        Add the bicubic upscaling of the input to the output (see :class:`~ramansr.models.srresnet.SRResNet`).
    padding_mode : str
        How every convolution pads (``torch.nn.Conv2d``'s): by default the border continued
        (:data:`~ramansr.models.upsampling.PADDING_MODE`); "zeros" is the original's.
    scaling_factor : int
        Upscaling of each spatial dimension: the run's SR factor, reached with x2
        and x3 PixelShuffle stages (:func:`~ramansr.models.upsampling.pixel_shuffle_stages`).
    """

    def __init__(
        self,
        in_channels=1,
        n_groups=10,
        n_blocks=20,
        n_channels=64,
        reduction=16,
        kernel_size=3,
        bicubic_skip=False,
        padding_mode=PADDING_MODE,
        *,
        scaling_factor,
    ):
        super().__init__()
        self.scaling_factor = int(scaling_factor)
        self.bicubic_skip = bool(bicubic_skip)
        stages = pixel_shuffle_stages(scaling_factor)
        # the original (zero padding) takes the map as it is
        self.margin = 0 if padding_mode == "zeros" else shuffle_margin(stages, [kernel_size] * len(stages))

        def conv(in_channels, out_channels):
            return nn.Conv2d(
                in_channels, out_channels, kernel_size, padding=kernel_size // 2, padding_mode=padding_mode
            )

        self.head = conv(in_channels, n_channels)
        self.body = nn.Sequential(
            *[ResidualGroup(n_channels, n_blocks, kernel_size, reduction, padding_mode) for _ in range(n_groups)],
            conv(n_channels, n_channels),
        )
        upsampler = []
        for stage in stages:
            upsampler += [conv(n_channels, stage**2 * n_channels), nn.PixelShuffle(stage)]
        self.upsampler = nn.Sequential(*upsampler)
        self.tail = conv(n_channels, in_channels)
        if self.bicubic_skip:
            start_at_zero(self.tail)

    def forward(self, lowres):
        """Super-resolve a batch of maps.

        Parameters
        ----------
        lowres : torch.Tensor
            (N, C, h, w) low-resolution maps.

        Returns
        -------
        torch.Tensor
            (N, C, h * scaling_factor, w * scaling_factor) super-resolved maps.
        """
        features = self.head(pad_border(lowres, self.margin))
        # long skip: the deep body only has to learn the high-frequency residual
        features = features + self.body(features)
        upscaled = crop_border(self.tail(self.upsampler(features)), self.margin * self.scaling_factor)
        if self.bicubic_skip:
            upscaled = upscaled + bicubic(lowres, self.scaling_factor)
        return upscaled
