"""MODNet (Ke et al., AAAI 2022) for inference: the alpha matte of the fusion branch.

The module names of the branches follow the official implementation so that its checkpoints
load with a plain key mapping for the backbone (see ``checkpoint.py``). The training-only heads
(``lr_branch.conv_lr``, ``hr_branch.conv_hr``) are left out: inference never evaluates them.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torchvision.models import mobilenet_v2

from .layers import Conv2dIBNormRelu, SEBlock

# Channels of the MobileNetV2 features at strides 2, 4, 8, 16 and 32.
ENC_CHANNELS = (16, 24, 32, 96, 1280)


def _upsample2x(x: torch.Tensor) -> torch.Tensor:
    return F.interpolate(x, scale_factor=2.0, mode="bilinear", align_corners=False)


def _downsample(x: torch.Tensor, factor: int) -> torch.Tensor:
    return F.interpolate(x, scale_factor=1.0 / factor, mode="bilinear", align_corners=False)


class MobileNetV2Encoder(nn.Module):
    """torchvision's MobileNetV2 feature extractor, returning the stride-2, 4 and 32 features."""

    def __init__(self) -> None:
        super().__init__()
        self.features = mobilenet_v2(weights=None).features

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        enc2x = self.features[:2](x)
        enc4x = self.features[2:4](enc2x)
        enc32x = self.features[4:](enc4x)
        return enc2x, enc4x, enc32x


class LRBranch(nn.Module):
    """Low-resolution semantic branch: person versus background at 1/8 scale."""

    def __init__(self) -> None:
        super().__init__()
        self.se_block = SEBlock(ENC_CHANNELS[4], reduction=4)
        self.conv_lr16x = Conv2dIBNormRelu(ENC_CHANNELS[4], ENC_CHANNELS[3], 5, padding=2)
        self.conv_lr8x = Conv2dIBNormRelu(ENC_CHANNELS[3], ENC_CHANNELS[2], 5, padding=2)

    def forward(self, enc32x: torch.Tensor) -> torch.Tensor:
        lr16x = self.conv_lr16x(_upsample2x(self.se_block(enc32x)))
        return self.conv_lr8x(_upsample2x(lr16x))


class HRBranch(nn.Module):
    """High-resolution detail branch: boundary features at 1/2 scale."""

    def __init__(self, hr_channels: int) -> None:
        super().__init__()
        hr = hr_channels
        self.tohr_enc2x = Conv2dIBNormRelu(ENC_CHANNELS[0], hr, 1)
        self.conv_enc2x = Conv2dIBNormRelu((3, hr), hr, 3, stride=2, padding=1)
        self.tohr_enc4x = Conv2dIBNormRelu(ENC_CHANNELS[1], hr, 1)
        self.conv_enc4x = Conv2dIBNormRelu((hr, hr), 2 * hr, 3, padding=1)
        self.conv_hr4x = nn.Sequential(
            Conv2dIBNormRelu((2 * hr, hr, 3), 2 * hr, 3, padding=1),
            Conv2dIBNormRelu(2 * hr, 2 * hr, 3, padding=1),
            Conv2dIBNormRelu(2 * hr, hr, 3, padding=1),
        )
        self.conv_hr2x = nn.Sequential(
            Conv2dIBNormRelu((hr, hr), 2 * hr, 3, padding=1),
            Conv2dIBNormRelu(2 * hr, hr, 3, padding=1),
            Conv2dIBNormRelu(hr, hr, 3, padding=1),
            Conv2dIBNormRelu(hr, hr, 3, padding=1),
        )

    def forward(
        self, img: torch.Tensor, enc2x: torch.Tensor, enc4x: torch.Tensor, lr8x: torch.Tensor
    ) -> torch.Tensor:
        img2x = _downsample(img, 2)
        img4x = _downsample(img, 4)
        enc2x = self.tohr_enc2x(enc2x)
        hr4x = self.conv_enc2x((img2x, enc2x))
        hr4x = self.conv_enc4x((hr4x, self.tohr_enc4x(enc4x)))
        hr4x = self.conv_hr4x((hr4x, _upsample2x(lr8x), img4x))
        return self.conv_hr2x((_upsample2x(hr4x), enc2x))


class FusionBranch(nn.Module):
    """Fuses semantics and details into the full-resolution alpha matte."""

    def __init__(self, hr_channels: int) -> None:
        super().__init__()
        hr = hr_channels
        self.conv_lr4x = Conv2dIBNormRelu(ENC_CHANNELS[2], hr, 5, padding=2)
        self.conv_f2x = Conv2dIBNormRelu((hr, hr), hr, 3, padding=1)
        self.conv_f = nn.Sequential(
            Conv2dIBNormRelu((hr, 3), hr // 2, 3, padding=1),
            Conv2dIBNormRelu(hr // 2, 1, 1, with_ibn=False, with_relu=False),
        )

    def forward(self, img: torch.Tensor, lr8x: torch.Tensor, hr2x: torch.Tensor) -> torch.Tensor:
        lr2x = _upsample2x(self.conv_lr4x(_upsample2x(lr8x)))
        f2x = self.conv_f2x((lr2x, hr2x))
        return torch.sigmoid(self.conv_f((_upsample2x(f2x), img)))


class MODNet(nn.Module):
    """Trimap-free portrait matting network.

    Input: N x 3 x H x W in [-1, 1], H and W multiples of 32. Output: N x 1 x H x W alpha in [0, 1].
    """

    def __init__(self, hr_channels: int = 32) -> None:
        super().__init__()
        self.backbone = MobileNetV2Encoder()
        self.lr_branch = LRBranch()
        self.hr_branch = HRBranch(hr_channels)
        self.f_branch = FusionBranch(hr_channels)

    def forward(self, img: torch.Tensor) -> torch.Tensor:
        enc2x, enc4x, enc32x = self.backbone(img)
        lr8x = self.lr_branch(enc32x)
        hr2x = self.hr_branch(img, enc2x, enc4x, lr8x)
        return self.f_branch(img, lr8x, hr2x)
