"""MODNet's two training heads, and the network that evaluates them beside the matte.

Inference needs only the fusion branch's alpha matte, so :class:`modnet.network.MODNet` leaves
out the semantic head (``lr_branch.conv_lr``) and the detail head (``hr_branch.conv_hr``) of
the official implementation. Self-supervised adaptation (SOC) makes the three predictions agree
with each other, so it needs them back: :class:`SubObjectiveNet` runs the network's branches one
by one and evaluates the heads on the features they take, as the official ``MODNet.forward``
does with ``inference=False``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

# The network's unit (convolution, IBNorm, ReLU), so that the heads' parameter names are the
# official ones (``layers.0.weight``, ``layers.1.bnorm.running_mean``, ...).
from ..network.layers import Conv2dIBNormRelu
from ..network.model import MODNet

LR8X_CHANNELS = 32  # channels of the low-resolution branch's 1/8 features (MobileNetV2's 1/8)
IMAGE_CHANNELS = 3


class SemanticHead(nn.Module):
    """``lr_branch.conv_lr``: the person's coarse mask at 1/16 scale from the 1/8 features."""

    def __init__(self) -> None:
        super().__init__()
        self.conv_lr = Conv2dIBNormRelu(
            LR8X_CHANNELS, 1, kernel_size=3, stride=2, padding=1, with_ibn=False, with_relu=False
        )

    def forward(self, lr8x: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.conv_lr(lr8x))


class DetailHead(nn.Module):
    """``hr_branch.conv_hr``: the matte's boundary details at full scale from the 1/2 features
    and the image."""

    def __init__(self, hr_channels: int = 32) -> None:
        super().__init__()
        self.conv_hr = nn.Sequential(
            Conv2dIBNormRelu(hr_channels + IMAGE_CHANNELS, hr_channels, 3, padding=1),
            Conv2dIBNormRelu(hr_channels, 1, 1, with_ibn=False, with_relu=False),
        )

    def forward(self, hr2x: torch.Tensor, img: torch.Tensor) -> torch.Tensor:
        hr = F.interpolate(hr2x, scale_factor=2.0, mode="bilinear", align_corners=False)
        return torch.sigmoid(self.conv_hr(torch.cat((hr, img), dim=1)))


class Heads(nn.Module):
    """Both heads, named as in the official state dict once prefixed by their branch."""

    def __init__(self, hr_channels: int = 32) -> None:
        super().__init__()
        self.semantic = SemanticHead()
        self.detail = DetailHead(hr_channels)

    def official_state_dict(self) -> dict[str, torch.Tensor]:
        """The heads' tensors under their official names (without ``module.``)."""
        state = {f"lr_branch.{k}": v for k, v in self.semantic.state_dict().items()}
        state.update({f"hr_branch.{k}": v for k, v in self.detail.state_dict().items()})
        return state

    def load_official_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        """Loads the heads' tensors from official names (without ``module.``), strictly."""
        semantic = {k.removeprefix("lr_branch."): v for k, v in state.items()}
        detail = {k.removeprefix("hr_branch."): v for k, v in state.items()}
        self.semantic.load_state_dict(
            {k: v for k, v in semantic.items() if k.startswith("conv_lr.")}, strict=True
        )
        self.detail.load_state_dict(
            {k: v for k, v in detail.items() if k.startswith("conv_hr.")}, strict=True
        )


class SubObjectiveNet(nn.Module):
    """MODNet with its training heads: ``forward`` returns (semantic, detail, matte).

    ``semantic`` is N x 1 x H/16 x W/16, ``detail`` and ``matte`` N x 1 x H x W, all in [0, 1];
    the input is N x 3 x H x W in [-1, 1], H and W multiples of 32. The matte is exactly
    ``network(img)``.
    """

    def __init__(self, network: MODNet, heads: Heads) -> None:
        super().__init__()
        self.network = network
        self.heads = heads

    def forward(self, img: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        return self.decode(img, *self.network.backbone(img))

    def decode(
        self, img: torch.Tensor, *encoded: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(semantic, detail, matte) from the backbone's features ``encoded`` of ``img``: with
        a frozen backbone, one encoding serves the network and its frozen backup."""
        return self.predict(img, *self.branches(img, *encoded))

    def features(self, img: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(lr8x, hr2x, matte): what the heads read, and the network's matte."""
        return self.branches(img, *self.network.backbone(img))

    def branches(
        self, img: torch.Tensor, enc2x: torch.Tensor, enc4x: torch.Tensor, enc32x: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(lr8x, hr2x, matte) from the backbone's features of ``img``."""
        net = self.network
        lr8x = net.lr_branch(enc32x)
        hr2x = net.hr_branch(img, enc2x, enc4x, lr8x)
        return lr8x, hr2x, net.f_branch(img, lr8x, hr2x)

    def predict(
        self, img: torch.Tensor, lr8x: torch.Tensor, hr2x: torch.Tensor, matte: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """The heads' predictions from features of :meth:`features`, and the matte."""
        return self.heads.semantic(lr8x), self.heads.detail(hr2x, img), matte

    def freeze_norm(self) -> None:
        """Norm layers as in inference and fixed: BatchNorms use and keep their running
        statistics, and no norm's affine parameters learn (InstanceNorms here have none)."""
        for module in self.modules():
            if isinstance(module, nn.modules.batchnorm._BatchNorm | nn.InstanceNorm2d):
                module.eval()
                for parameter in module.parameters():
                    parameter.requires_grad_(False)
