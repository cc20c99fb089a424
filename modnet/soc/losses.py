"""The consistency targets and losses of SOC, as in the official ``src/trainer.py``.

The semantic prediction (1/16 scale) and a blurred, downsampled copy of the matte supervise each
other; inside the transition band around the person, the detail prediction and the matte are
held to those of a frozen backup of the network, so that the semantic agreement does not wash
out the details the photo training taught.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from torchvision.transforms.functional import gaussian_blur

SEMANTIC_STRIDE = 16
# The official GaussianBlurLayer(1, 3): a 3 x 3 kernel of sigma 0.3 * ((3 - 1) / 2 - 1) + 0.8.
BLUR_KERNEL = 3
BLUR_SIGMA = 0.8
FOREGROUND_LEVEL = 0.1  # a pixel belongs to the person above this matte (and semantic) value
PSEUDO_FLOOR = 0.01  # pseudo targets below this are set to 0
BAND_SHARE = 0.05  # the band's width: this share of the mean of height and width


@dataclass(frozen=True)
class SOCWeights:
    """The scales of the two SOC losses; the defaults are ``soc_adaptation_iter``'s."""

    semantic_scale: float = 100.0
    detail_scale: float = 1.0

    def __post_init__(self) -> None:
        for name in ("semantic_scale", "detail_scale"):
            value = getattr(self, name)
            if not (isinstance(value, int | float) and value >= 0):
                raise ValueError(f"{name}: expected a number >= 0, got {value!r}")


def semantic_target(matte: torch.Tensor) -> torch.Tensor:
    """The matte as the semantic head sees it: bilinearly downsampled 16 times, then blurred."""
    small = F.interpolate(matte, scale_factor=1.0 / SEMANTIC_STRIDE, mode="bilinear")
    return gaussian_blur(small, [BLUR_KERNEL, BLUR_KERNEL], [BLUR_SIGMA, BLUR_SIGMA])


def transition_band(foreground: torch.Tensor) -> torch.Tensor:
    """N x 1 x H x W float mask, 1 where a square window of side 5% of the image (the mean of
    its sides) holds both person and background in the binary ``foreground``."""
    height, width = foreground.shape[-2:]
    side = max(1, int((height + width) / 2 * BAND_SHARE))
    kernel = np.ones((side, side), np.uint8)
    masks = foreground.detach().cpu().numpy().astype(np.uint8)
    band = np.empty_like(masks)
    for index, mask in enumerate(masks[:, 0]):
        band[index, 0] = cv2.dilate(mask, kernel) != cv2.erode(mask, kernel)
    return torch.from_numpy(band).to(foreground.device, torch.float32)


def masked_l1(prediction: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean absolute difference inside ``mask`` of each sample, averaged over the batch."""
    error = (mask * (prediction - target).abs()).sum(dim=(1, 2, 3))
    return (error / mask.sum(dim=(1, 2, 3)).clamp(min=1.0)).mean()


def soc_losses(
    semantic: torch.Tensor,
    detail: torch.Tensor,
    matte: torch.Tensor,
    backup_detail: torch.Tensor,
    backup_matte: torch.Tensor,
    weights: SOCWeights = SOCWeights(),
) -> tuple[torch.Tensor, torch.Tensor]:
    """(semantic loss, detail loss), scaled by ``weights``, of one SOC iteration."""
    semantic_up = F.interpolate(
        (semantic.detach() > FOREGROUND_LEVEL).float(),
        scale_factor=SEMANTIC_STRIDE,
        mode="bilinear",
    )
    foreground = (matte.detach() > FOREGROUND_LEVEL).float() * semantic_up
    band = transition_band(foreground > 0)

    small_matte = semantic_target(matte)
    pseudo_semantic = small_matte.detach()
    pseudo_semantic = pseudo_semantic * (pseudo_semantic > PSEUDO_FLOOR)
    pseudo_small_matte = semantic.detach()
    pseudo_small_matte = pseudo_small_matte * (pseudo_small_matte > PSEUDO_FLOOR)
    semantic_loss = F.mse_loss(semantic, pseudo_semantic) + F.mse_loss(
        small_matte, pseudo_small_matte
    )

    detail_loss = masked_l1(detail, backup_detail, band) + masked_l1(matte, backup_matte, band)
    return weights.semantic_scale * semantic_loss, weights.detail_scale * detail_loss


def distillation_losses(
    semantic: torch.Tensor, detail: torch.Tensor, matte: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """(semantic loss, detail loss) of heads learning from the frozen network's ``matte``:
    MSE to the blurred, downsampled matte; L1 to the matte inside its transition band."""
    band = transition_band(matte > FOREGROUND_LEVEL)
    return F.mse_loss(semantic, semantic_target(matte)), masked_l1(detail, matte, band)
