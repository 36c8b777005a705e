"""SRCNN (Dong et al., 2014): three convolutions on a bicubic-upscaled map."""

from torch import nn

from ramansr.models.upsampling import PADDING_MODE, bicubic, start_at_zero


class SRCNN(nn.Module):
    """Super-resolution CNN with the classic 9-5-5 layout.

    The network sees the map after bicubic upscaling and learns to sharpen it:
    patch extraction, non-linear mapping, reconstruction. The bicubic step is
    part of ``forward`` so that every model shares the (N, 1, h, w) ->
    (N, 1, factor h, factor w) interface; it continues the border pixels
    (``torch.nn.functional.interpolate`` clamps at the edge), as the convolutions do.

    Parameters
    ----------
    in_channels : int
        Channels of the input (and output) maps: 1 for one component map, the run's number of
        components for a joint model (all of an area's maps at once).
    n_channels : tuple of int
        Filters of the first and second convolutions.
    kernel_sizes : tuple of int
        Kernel sizes of the three convolutions.
    bicubic_skip : bool
        Add the bicubic map to the output, so that the network learns only the detail it lacks
        (VDSR's residual learning).
    padding_mode : str
        How the convolutions pad (``torch.nn.Conv2d``'s): by default the border continued
        (:data:`~ramansr.models.upsampling.PADDING_MODE`); "zeros" is the original's.
    scaling_factor : int
        Factor by which both spatial dimensions grow.
    """

    def __init__(
        self,
        in_channels=1,
        n_channels=(64, 32),
        kernel_sizes=(9, 5, 5),
        bicubic_skip=False,
        padding_mode=PADDING_MODE,
        *,
        scaling_factor,
    ):
        super().__init__()
        self.bicubic_skip = bool(bicubic_skip)
        self.scaling_factor = int(scaling_factor)
        first_channels, second_channels = n_channels
        first_kernel, second_kernel, third_kernel = kernel_sizes

        def conv(in_channels, out_channels, kernel_size):
            # "same" padding keeps the upscaled size, so the output lines up with the HR grid
            return nn.Conv2d(
                in_channels, out_channels, kernel_size, padding=kernel_size // 2, padding_mode=padding_mode
            )

        self.patch_extraction = conv(in_channels, first_channels, first_kernel)
        self.nonlinear_mapping = conv(first_channels, second_channels, second_kernel)
        self.reconstruction = conv(second_channels, in_channels, third_kernel)
        if self.bicubic_skip:
            start_at_zero(self.reconstruction)
        self.relu = nn.ReLU(inplace=True)

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
        upscaled = bicubic(lowres, self.scaling_factor)
        features = self.relu(self.patch_extraction(upscaled))
        features = self.relu(self.nonlinear_mapping(features))
        restored = self.reconstruction(features)
        return restored + upscaled if self.bicubic_skip else restored
