"""SRResNet (Ledig et al., 2017): residual blocks at LR, then sub-pixel upscaling."""

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


class ConvolutionalBlock(nn.Module):
    """Convolution, optional batch norm, optional activation.

    Parameters
    ----------
    in_channels, out_channels : int
        Channels before and after the convolution.
    kernel_size : int
        Kernel size; padding keeps the spatial size (at stride 1).
    stride : int
        Convolution stride.
    batch_norm : bool
        Whether a BatchNorm2d follows the convolution.
    activation : {None, "prelu", "leakyrelu"}
        Activation after the (normalised) convolution.
    padding_mode : str
        How the convolution pads (``torch.nn.Conv2d``'s).
    """

    def __init__(
        self, in_channels, out_channels, kernel_size, stride=1, batch_norm=False, activation=None, padding_mode="zeros"
    ):
        super().__init__()
        activations = {None: None, "prelu": nn.PReLU, "leakyrelu": lambda: nn.LeakyReLU(0.2)}
        if activation not in activations:
            raise ValueError(f"activation must be one of {sorted(map(str, activations))}, got {activation!r}")
        layers = [
            nn.Conv2d(
                in_channels,
                out_channels,
                kernel_size,
                stride=stride,
                padding=kernel_size // 2,
                padding_mode=padding_mode,
            )
        ]
        if batch_norm:
            layers.append(nn.BatchNorm2d(out_channels))
        if activation is not None:
            layers.append(activations[activation]())
        self.block = nn.Sequential(*layers)

    def forward(self, features):
        """(N, in_channels, h, w) -> (N, out_channels, h / stride, w / stride)."""
        return self.block(features)


class ResidualBlock(nn.Module):
    """Two conv-BN blocks (PReLU between) with a skip connection across them.

    Parameters
    ----------
    kernel_size : int
        Kernel size of both convolutions.
    n_channels : int
        Channels in and out (equal, so the input can be added back).
    batch_norm : bool
        Whether each convolution is followed by batch norm.
    padding_mode : str
        How the convolutions pad (``torch.nn.Conv2d``'s).
    """

    def __init__(self, kernel_size=3, n_channels=64, batch_norm=True, padding_mode="zeros"):
        super().__init__()
        self.conv_block1 = ConvolutionalBlock(
            n_channels, n_channels, kernel_size, batch_norm=batch_norm, activation="prelu", padding_mode=padding_mode
        )
        self.conv_block2 = ConvolutionalBlock(
            n_channels, n_channels, kernel_size, batch_norm=batch_norm, padding_mode=padding_mode
        )

    def forward(self, features):
        """(N, n_channels, h, w) -> (N, n_channels, h, w)."""
        return features + self.conv_block2(self.conv_block1(features))


class SubPixelConvolutionalBlock(nn.Module):
    """Convolution to ``factor**2`` times the channels, PixelShuffle, PReLU.

    Parameters
    ----------
    kernel_size : int
        Kernel size of the convolution.
    n_channels : int
        Channels in and out.
    scaling_factor : int
        Upscaling of each spatial dimension.
    padding_mode : str
        How the convolution pads (``torch.nn.Conv2d``'s).
    """

    def __init__(self, kernel_size=3, n_channels=64, scaling_factor=2, padding_mode="zeros"):
        super().__init__()
        self.conv = nn.Conv2d(
            n_channels, n_channels * scaling_factor**2, kernel_size, padding=kernel_size // 2, padding_mode=padding_mode
        )
        # rearranges the extra channels into a finer pixel grid
        self.pixel_shuffle = nn.PixelShuffle(scaling_factor)
        self.prelu = nn.PReLU()

    def forward(self, features):
        """(N, n_channels, h, w) -> (N, n_channels, h * factor, w * factor)."""
        return self.prelu(self.pixel_shuffle(self.conv(features)))


class SRResNet(nn.Module):
    """SRResNet for component maps: one at a time, or all of an area's as channels (a joint model).

    The last convolution has no activation: component maps live in [0, 1],
    so the Tanh of the RGB original (range [-1, 1]) is left out.

    Parameters
    ----------
    in_channels : int
        Channels of the input (and output) maps: 1 for one component map, the run's number of
        components for a joint model (all of an area's maps at once).
    large_kernel_size : int
        Kernel size of the first and last convolutions.
    small_kernel_size : int
        Kernel size of every convolution in between.
    n_channels : int
        Width of the network between the first and last convolutions.
    n_blocks : int
        Number of residual blocks.
    batch_norm : bool
        Batch norm after the convolutions of the residual part (the original); False drops it, as EDSR does.
    bicubic_skip : bool
        Add the bicubic upscaling of the input to the output, so that the network learns only the detail
        bicubic interpolation misses (a global residual, as in VDSR); it starts near bicubic instead of
        from nothing, which a short training budget needs.
    padding_mode : str
        How every convolution pads (``torch.nn.Conv2d``'s): by default the border continued
        (:data:`~ramansr.models.upsampling.PADDING_MODE`); "zeros" is the original's.
    scaling_factor : int
        Upscaling of each spatial dimension: the run's SR factor, reached with x2
        and x3 sub-pixel stages (:func:`~ramansr.models.upsampling.pixel_shuffle_stages`).
    """

    def __init__(
        self,
        in_channels=1,
        large_kernel_size=9,
        small_kernel_size=3,
        n_channels=64,
        n_blocks=16,
        batch_norm=True,
        bicubic_skip=False,
        padding_mode=PADDING_MODE,
        *,
        scaling_factor,
    ):
        super().__init__()
        self.scaling_factor = int(scaling_factor)
        self.bicubic_skip = bool(bicubic_skip)
        stages = pixel_shuffle_stages(scaling_factor)
        # the next stage's convolution follows each stage, the last convolution the last one; the original
        # (zero padding) takes the map as it is
        kernels = [small_kernel_size] * (len(stages) - 1) + [large_kernel_size]
        self.margin = 0 if padding_mode == "zeros" else shuffle_margin(stages, kernels)
        self.conv_block1 = ConvolutionalBlock(
            in_channels, n_channels, large_kernel_size, activation="prelu", padding_mode=padding_mode
        )
        self.residual_blocks = nn.Sequential(
            *[ResidualBlock(small_kernel_size, n_channels, batch_norm, padding_mode) for _ in range(n_blocks)]
        )
        self.conv_block2 = ConvolutionalBlock(
            n_channels, n_channels, small_kernel_size, batch_norm=batch_norm, padding_mode=padding_mode
        )
        self.subpixel_blocks = nn.Sequential(
            *[SubPixelConvolutionalBlock(small_kernel_size, n_channels, stage, padding_mode) for stage in stages]
        )
        self.conv_block3 = ConvolutionalBlock(n_channels, in_channels, large_kernel_size, padding_mode=padding_mode)
        if self.bicubic_skip:
            start_at_zero(self.conv_block3.block[0])

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
        features = self.conv_block1(pad_border(lowres, self.margin))  # (N, n_channels, h + 2 margin, ...)
        # long skip: the residual blocks learn a correction to the shallow features
        features = features + self.conv_block2(self.residual_blocks(features))
        features = self.subpixel_blocks(features)  # (N, n_channels, factor (h + 2 margin), ...)
        upscaled = crop_border(self.conv_block3(features), self.margin * self.scaling_factor)  # (N, C, factor h, ...)
        if self.bicubic_skip:
            upscaled = upscaled + bicubic(lowres, self.scaling_factor)
        return upscaled
