"""Building blocks of MODNet: IBNorm, its convolution unit and the SE block."""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
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


class ConcatConv2d(nn.Conv2d):
    """A convolution of the channel-wise concatenation of several tensors, computed without it.

    A convolution is linear in its input channels, so ``conv(cat(a, b))`` equals
    ``conv_a(a) + conv_b(b)`` with the weights split along their input channels. Skipping the
    concatenation saves a copy of full-resolution feature maps, and each part keeps a channel
    count that CPU kernels block well (32 + 3 channels do not; 32 and 3 do). The weights keep
    the shape of the single convolution, so checkpoints load unchanged.
    """

    def __init__(
        self,
        in_channels: Sequence[int],
        out_channels: int,
        kernel_size: int,
        stride: int = 1,
        padding: int = 0,
    ) -> None:
        super().__init__(sum(in_channels), out_channels, kernel_size, stride, padding)
        self.in_splits = tuple(in_channels)

    def forward(self, inputs: Sequence[torch.Tensor]) -> torch.Tensor:  # type: ignore[override]
        weights = self.weight.split(self.in_splits, dim=1)
        output = F.conv2d(inputs[0], weights[0], self.bias, self.stride, self.padding)
        for x, weight in zip(inputs[1:], weights[1:], strict=True):
            output = output + F.conv2d(x, weight, None, self.stride, self.padding)
        return output


class Conv2dIBNormRelu(nn.Module):
    """Convolution, optionally followed by IBNorm and ReLU (MODNet's basic unit).

    With a sequence of ``in_channels``, the unit takes that many tensors and convolves their
    concatenation (see :class:`ConcatConv2d`). The layers live in ``self.layers`` so that
    parameter names match the official checkpoints.
    """

    def __init__(
        self,
        in_channels: int | Sequence[int],
        out_channels: int,
        kernel_size: int,
        stride: int = 1,
        padding: int = 0,
        with_ibn: bool = True,
        with_relu: bool = True,
    ) -> None:
        super().__init__()
        conv = ConcatConv2d if isinstance(in_channels, Sequence) else nn.Conv2d
        layers: list[nn.Module] = [
            conv(in_channels, out_channels, kernel_size, stride=stride, padding=padding)
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
