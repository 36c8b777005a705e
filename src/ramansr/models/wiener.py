"""A physics-only baseline ("wiener"): bicubic upscaling, then Wiener deconvolution with the known optics.

No learning: the LR map is the specimen seen through the LR objective's Airy PSF, point-sampled at
the LR step; the HR map the same through the HR objective's narrower PSF at the HR step. Bicubic
interpolation puts the LR map on the HR grid with two blurs too many: its own kernel's, and the LR
PSF's beyond the HR one's. :class:`Wiener` undoes both with scikit-image's Wiener filter
(``skimage.restoration.wiener``, Laplacian regulariser): the transfer function is the bicubic
kernel's response times OTF_LR / OTF_HR (:func:`ramansr.optics.airy_otf`, the
simulator's own). What the LR sampling aliased stays lost. ``balance`` weighs the regulariser: the
``train`` stage chooses it on the validation pairs (the registry's ``choices``, a baseline's training).
"""

import numpy as np
import torch
from skimage.restoration import wiener
from torch import nn

from ramansr.models.upsampling import bicubic
from ramansr.optics import airy_otf

#: LR pixels by which a map is mirrored before the filter, so that the FFT's wrap-around meets the
#: mirror image rather than the opposite border (the filter's reach at the balances above is a few HR pixels).
MARGIN = 4


def interpolation_response(shape, scaling_factor):
    """The transfer function of bicubic upscaling on the HR grid (rfft layout), up to the LR Nyquist frequency.

    Measured from :func:`~ramansr.models.upsampling.bicubic` itself: the HR impulse response of one
    LR sample, cosine-transformed about the HR position of that sample (it is symmetric about it).

    Parameters
    ----------
    shape : (rows, cols)
        The HR grid.
    scaling_factor : int

    Returns
    -------
    ndarray of float64, (rows, cols // 2 + 1)
        1 at zero frequency.
    """
    impulse = torch.zeros(1, 1, 1, 9, dtype=torch.float64)
    impulse[..., 4] = 1.0
    response = bicubic(impulse, scaling_factor)[0, 0, 0].numpy() / scaling_factor
    # LR sample p sits at HR pixel factor p + (factor - 1) / 2 (half-pixel alignment)
    offsets = np.arange(response.size) - (scaling_factor * 4 + (scaling_factor - 1) / 2)

    def along(frequencies):
        return np.cos(2.0 * np.pi * frequencies[:, None] * offsets[None, :]) @ response

    rows = along(np.fft.fftfreq(shape[0]))
    cols = along(np.fft.rfftfreq(shape[1]))
    return rows[:, None] * cols[None, :]


class Wiener(nn.Module):
    """Bicubic upscaling, then Wiener deconvolution of the interpolation and of the LR PSF beyond the HR one.

    Parameter-free (``balance`` is chosen, not learned); runs on the CPU in float64.

    Parameters
    ----------
    lowres_step_um : float
        The LR scan's step; the HR grid's is this over ``scaling_factor``.
    lowres_na, highres_na : float
        Numerical apertures of the LR and HR objectives (``lowres_na <= highres_na``).
    excitation_nm : float
        Laser wavelength.
    balance : float
        Weight of the Laplacian regulariser against the data (``skimage.restoration.wiener``'s).
    scaling_factor : int
        Factor by which both spatial dimensions grow.
    """

    def __init__(self, lowres_step_um, lowres_na, highres_na, excitation_nm, balance=0.3, *, scaling_factor):
        super().__init__()
        if not 0 < lowres_na <= highres_na:
            raise ValueError(
                f"the LR objective's NA ({lowres_na}) must be positive and at most the HR one's ({highres_na})"
            )
        self.lowres_step_um = float(lowres_step_um)
        self.lowres_na, self.highres_na = float(lowres_na), float(highres_na)
        self.excitation_nm = float(excitation_nm)
        self.balance = float(balance)
        self.scaling_factor = int(scaling_factor)

    def transfer_function(self, shape):
        """The blur the filter undoes, on an HR grid of ``shape`` (rfft layout, complex for skimage)."""
        step, wavelength = self.lowres_step_um / self.scaling_factor, self.excitation_nm / 1e3
        lowres, highres = (airy_otf(shape, step, wavelength, na) for na in (self.lowres_na, self.highres_na))
        # the LR OTF ends at a lower frequency than the HR one: beyond the HR cutoff both are zero
        relative = np.divide(lowres, highres, out=np.zeros_like(lowres), where=highres > 0)
        return (relative * interpolation_response(shape, self.scaling_factor)).astype(np.complex128)

    def forward(self, lowres):
        """Super-resolve a batch of maps.

        Parameters
        ----------
        lowres : torch.Tensor
            (N, C, h, w) low-resolution maps.

        Returns
        -------
        torch.Tensor
            (N, C, h * scaling_factor, w * scaling_factor) super-resolved maps, of ``lowres``' dtype and device.
        """
        upscaled = bicubic(lowres.detach().double(), self.scaling_factor).cpu().numpy()
        edge = MARGIN * self.scaling_factor
        padded = np.pad(upscaled, ((0, 0), (0, 0), (edge, edge), (edge, edge)), mode="reflect")
        transfer = self.transfer_function(padded.shape[-2:])
        restored = np.stack(
            [
                wiener(image, transfer, self.balance, is_real=True, clip=False)
                for image in padded.reshape(-1, *padded.shape[-2:])
            ]
        ).reshape(padded.shape)[..., edge:-edge, edge:-edge]
        return torch.from_numpy(np.ascontiguousarray(restored)).to(lowres.device, lowres.dtype)

    def extra_repr(self):
        return (
            f"lowres_step_um={self.lowres_step_um}, lowres_na={self.lowres_na}, highres_na={self.highres_na}, "
            f"excitation_nm={self.excitation_nm}, balance={self.balance}, scaling_factor={self.scaling_factor}"
        )
