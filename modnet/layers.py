"""Building blocks of MODNet: IBNorm, its convolution unit and the SE block."""

from __future__ import annotations

import torch
from torch import nn


class IBNorm(nn.Module):
    """Batch norm on the first half of the channels, instance norm on the second.

    Batch statistics keep what the training set taught about colour and contrast; per-image
    statistics make the other half robust to the exposure of each photo.
    """

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.bnorm_channels = channels // 2
        self.bnorm = nn.BatchNorm2d(self.bnorm_channels)
        self.inorm = nn.InstanceNorm2d(channels - self.bnorm_channels, affine=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        split = self.bnorm_channels
        return torch.cat(
            (self.bnorm(x[:, :split].contiguous()), self.inorm(x[:, split:].contiguous())), dim=1
        )


class Conv2dIBNormRelu(nn.Module):
    """Convolution, optionally followed by IBNorm and ReLU (MODNet's basic unit).

    The layers live in ``self.layers`` so that parameter names match the official checkpoints.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        stride: int = 1,
        padding: int = 0,
        with_ibn: bool = True,
        with_relu: bool = True,
    ) -> None:
        super().__init__()
        layers: list[nn.Module] = [
            nn.Conv2d(in_channels, out_channels, kernel_size, stride=stride, padding=padding)
        ]
        if with_ibn:
            layers.append(IBNorm(out_channels))
        if with_relu:
            layers.append(nn.ReLU(inplace=True))
        self.layers = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x)


class SEBlock(nn.Module):
    """Squeeze-and-excitation: reweights channels from their global average."""

    def __init__(self, channels: int, reduction: int) -> None:
        super().__init__()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Sequential(
            nn.Linear(channels, channels // reduction, bias=False),
            nn.ReLU(inplace=True),
            nn.Linear(channels // reduction, channels, bias=False),
            nn.Sigmoid(),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        weights = self.fc(self.pool(x).flatten(1))
        return x * weights[:, :, None, None]
