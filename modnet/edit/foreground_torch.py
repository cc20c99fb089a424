"""The device twin of :mod:`modnet.edit.foreground`: the same estimators in PyTorch, on the
tensors' device, within a grey level of the NumPy implementation.

Images are H x W x 3 RGB and mattes H x W, uint8 tensors. As on the CPU, only the pixels with a
fractional alpha are corrected (gathered by index), so the full-resolution float arrays are
those of the band alone.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ..pipeline.filters_torch import box_filter
from .foreground import DEFAULT_FOREGROUND, FOREGROUND_ESTIMATORS, BlurFusion, check_foreground


def estimate_foreground_torch(
    rgb: torch.Tensor, matte: torch.Tensor, foreground: str | BlurFusion = DEFAULT_FOREGROUND
) -> torch.Tensor:
    """H x W x 3 uint8 foreground colours of the uint8 ``rgb`` under ``matte``, as
    :func:`modnet.edit.foreground.estimate_foreground` computes them (``raw``: ``rgb`` itself)."""
    if isinstance(foreground, BlurFusion):
        estimator: BlurFusion | None = foreground
    else:
        estimator = FOREGROUND_ESTIMATORS[check_foreground(foreground)]
    if matte.dtype != torch.uint8 or matte.shape != rgb.shape[:2]:
        raise ValueError(
            f"matte: expected a uint8 tensor of shape {tuple(rgb.shape[:2])}, "
            f"got {matte.dtype} {tuple(matte.shape)}"
        )
    if estimator is None:
        return rgb
    flat_matte = matte.reshape(-1)
    band = torch.nonzero((flat_matte > 0) & (flat_matte < 255)).squeeze(1)
    if band.numel() == 0:
        return rgb.clone()
    flat = rgb.reshape(-1, 3)
    alpha = flat_matte[band].float()[:, None] / 255
    colour = flat[band].float() / 255
    smooth_f, smooth_b = _smooth_estimates(rgb, matte, band, estimator)
    residual = colour - alpha * smooth_f - (1 - alpha) * smooth_b
    colour = smooth_f + alpha * residual / (alpha * alpha + estimator.final_weight)
    result = flat.clone()
    result[band] = colour.clamp(0, 1).mul(255).round().to(torch.uint8)
    return result.reshape(rgb.shape)


def _smooth_estimates(
    rgb: torch.Tensor, matte: torch.Tensor, band: torch.Tensor, estimator: BlurFusion
) -> tuple[torch.Tensor, torch.Tensor]:
    """Smooth F and B at the working resolution, sampled at the ``band`` pixels (N x 3 each)."""
    planes = torch.cat((rgb, matte[:, :, None]), dim=2).permute(2, 0, 1)[None].float()
    small, factor = _halve(planes, estimator.working_side)
    small = small / 255
    smooth_f, smooth_b = _blur_fusion(small[:, :3], small[:, 3:], estimator)
    width = matte.shape[1]
    y, x = band // width, band % width
    # Working pixel i covers full-resolution pixels [i * factor, (i + 1) * factor).
    x = (x.float() + 0.5) / factor - 0.5
    y = (y.float() + 0.5) / factor - 0.5
    return _sample(smooth_f[0], x, y), _sample(smooth_b[0], x, y)


def _halve(planes: torch.Tensor, side: int) -> tuple[torch.Tensor, int]:
    """The uint8-valued ``planes`` (1 x C x H x W float) averaged over 2 x 2 blocks until the
    long side is at most ``side``, each halving rounded as OpenCV rounds a uint8 halving,
    ``(sum + 2) >> 2``; and the total shrink factor. An odd last row or column is dropped."""
    factor = 1
    while max(planes.shape[-2:]) > side and min(planes.shape[-2:]) >= 2:
        sums = F.avg_pool2d(planes, 2) * 4
        planes = torch.floor((sums + 2) / 4)
        factor *= 2
    return planes, factor


def _blur_fusion(
    image: torch.Tensor, alpha: torch.Tensor, estimator: BlurFusion
) -> tuple[torch.Tensor, torch.Tensor]:
    """:func:`modnet.edit.foreground._blur_fusion` on 1 x 3 x h x w and 1 x 1 x h x w tensors."""
    beta = 1 - alpha
    fg_weight, bg_weight = alpha * alpha, beta * beta
    fg_mix, bg_mix = estimator.foreground_weight, estimator.background_weight
    denominator = fg_mix + fg_weight + bg_weight * (fg_mix / bg_mix)
    fg_gain = alpha / denominator
    bg_gain = beta * (fg_mix / bg_mix) / denominator
    fg = bg = image
    for size in estimator.box_sizes:
        smooth_f = _normalised_blur(fg, fg_weight, size)
        smooth_b = _normalised_blur(bg, bg_weight, size)
        residual = image - alpha * smooth_f - beta * smooth_b
        fg = (smooth_f + fg_gain * residual).clamp(0, 1)
        bg = (smooth_b + bg_gain * residual).clamp(0, 1)
    return smooth_f, smooth_b


def _normalised_blur(colour: torch.Tensor, weight: torch.Tensor, size: int) -> torch.Tensor:
    """Weighted average of ``colour`` over size x size boxes."""
    return box_filter(colour * weight, size) / (box_filter(weight, size) + 1e-5)


def _sample(image: torch.Tensor, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Bilinear values of the 3 x h x w ``image`` at N points, as N x 3, the border replicated
    (``cv2.remap`` with ``BORDER_REPLICATE``)."""
    height, width = image.shape[-2:]
    x0, y0 = torch.floor(x), torch.floor(y)
    fx, fy = (x - x0)[:, None], (y - y0)[:, None]
    x0, y0 = x0.long(), y0.long()
    columns = (x0.clamp(0, width - 1), (x0 + 1).clamp(0, width - 1))
    rows = (y0.clamp(0, height - 1), (y0 + 1).clamp(0, height - 1))
    pixels = image.permute(1, 2, 0)
    top = pixels[rows[0], columns[0]] * (1 - fx) + pixels[rows[0], columns[1]] * fx
    bottom = pixels[rows[1], columns[0]] * (1 - fx) + pixels[rows[1], columns[1]] * fx
    return top * (1 - fy) + bottom * fy
