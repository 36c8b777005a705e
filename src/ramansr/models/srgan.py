"""SRGAN (Ledig et al., 2017): the SRResNet as generator plus a discriminator.

A pretrained VGG19 cannot be downloaded here, so training uses the MSE between
the super-resolved and the true HR window as content loss (the "SRGAN-MSE"
variant of the paper), plus ``adversarial_weight`` (about 1e-3) times the
adversarial loss from :class:`Discriminator`.
"""

import torch
from torch import nn

from ramansr.models.srresnet import ConvolutionalBlock, SRResNet


class Generator(SRResNet):
    """The SRGAN generator: architecturally an SRResNet.

    It shares the SRResNet's parameter names, so a trained SRResNet's
    ``state_dict`` loads into it unchanged (the paper starts the GAN from it).
    """


class Discriminator(nn.Module):
    """Classifies HR windows as real (measured) or fake (super-resolved).

    Strided convolutions halve the size every second block; an adaptive
    average pool then brings any window size (e.g. 100 x 100) to a fixed grid
    before the dense layers.

    Parameters
    ----------
    in_channels : int
        Channels of the windows; 1 for component maps.
    kernel_size : int
        Kernel size of every convolution.
    n_channels : int
        Channels of the first block; doubled at every odd block after it.
    n_blocks : int
        Number of convolutional blocks.
    fc_size : int
        Width of the hidden dense layer.
    pool_size : int
        Side of the grid the adaptive pool produces.
    """

    def __init__(self, in_channels=1, kernel_size=3, n_channels=64, n_blocks=8, fc_size=1024, pool_size=6):
        super().__init__()
        blocks = []
        block_in = in_channels
        for index in range(n_blocks):
            # even blocks widen (except the first, which sets the width); odd blocks halve the size
            if index == 0:
                block_out = n_channels
            elif index % 2 == 0:
                block_out = block_in * 2
            else:
                block_out = block_in
            blocks.append(
                ConvolutionalBlock(
                    block_in, block_out, kernel_size, stride=1 + index % 2, batch_norm=index > 0, activation="leakyrelu"
                )
            )
            block_in = block_out
        self.conv_blocks = nn.Sequential(*blocks)
        self.adaptive_pool = nn.AdaptiveAvgPool2d(pool_size)
        self.fc1 = nn.Linear(block_in * pool_size * pool_size, fc_size)
        self.leaky_relu = nn.LeakyReLU(0.2)
        # no sigmoid: the logit goes into BCEWithLogitsLoss, which is numerically safer
        self.fc2 = nn.Linear(fc_size, 1)

    def forward(self, windows):
        """Score a batch of windows.

        Parameters
        ----------
        windows : torch.Tensor
            (N, C, H, W) real or super-resolved HR windows.

        Returns
        -------
        torch.Tensor
            (N,) logits; positive means "looks real".
        """
        features = self.adaptive_pool(self.conv_blocks(windows))
        hidden = self.leaky_relu(self.fc1(torch.flatten(features, 1)))
        return self.fc2(hidden).squeeze(1)
