"""Parameter-free interpolation baselines: bilinear ("linear") and bicubic."""

from torch import nn
from torch.nn import functional as F


class Interpolation(nn.Module):
    """Upscale maps by plain interpolation; no learnable parameters.

    Parameters
    ----------
    mode : {"bilinear", "bicubic"}
        Interpolation kernel passed to ``torch.nn.functional.interpolate``.
    scaling_factor : int
        Factor by which both spatial dimensions grow.
    """

    def __init__(self, mode="bicubic", *, scaling_factor):
        super().__init__()
        if mode not in {"bilinear", "bicubic"}:
            raise ValueError(f"mode must be 'bilinear' or 'bicubic', got {mode!r}")
        self.mode = mode
        self.scaling_factor = int(scaling_factor)

    def forward(self, lowres):
        """Upscale a batch of maps.

        Parameters
        ----------
        lowres : torch.Tensor
            (N, C, h, w) low-resolution maps.

        Returns
        -------
        torch.Tensor
            (N, C, h * scaling_factor, w * scaling_factor) upscaled maps.
        """
        return F.interpolate(lowres, scale_factor=self.scaling_factor, mode=self.mode, align_corners=False)

    def extra_repr(self):
        return f"mode={self.mode}, scaling_factor={self.scaling_factor}"
