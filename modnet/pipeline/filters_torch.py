"""OpenCV's borders, box filter and Gaussian blur in PyTorch, for the device twins of the
post-processing steps (``*_torch.py`` beside each NumPy module).

Tensors are N x C x H x W float. Borders follow OpenCV's rules exactly, including kernels wider
than the image (the reflection repeats), so that each twin reproduces its OpenCV original to
float rounding.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

# OpenCV's border modes: the default (gfedcb|abcdefgh|gfedcba), BORDER_REFLECT
# (fedcba|abcdefgh|hgfedcb) and BORDER_REPLICATE (aaaaaa|abcdefgh|hhhhhhh).
BORDERS = ("reflect_101", "reflect", "replicate")


def border_indices(
    length: int, before: int, after: int, border: str, device: torch.device
) -> torch.Tensor:
    """Indices into an axis of ``length`` pixels of the ``before + length + after`` pixels of
    that axis padded with OpenCV's ``border``."""
    positions = torch.arange(-before, length + after, device=device)
    if border == "replicate" or length == 1:
        return positions.clamp(0, length - 1)
    if border == "reflect_101":
        period = 2 * length - 2
        folded = positions.remainder(period)
        return torch.where(folded < length, folded, period - folded)
    if border == "reflect":
        period = 2 * length
        folded = positions.remainder(period)
        return torch.where(folded < length, folded, period - 1 - folded)
    raise ValueError(f"border: expected one of {', '.join(BORDERS)}, got '{border}'")


def pad(x: torch.Tensor, before: int, after: int, dim: int, border: str) -> torch.Tensor:
    """``x`` padded along ``dim`` by ``before`` and ``after`` pixels of ``border``."""
    if before == after == 0:
        return x
    indices = border_indices(x.shape[dim], before, after, border, x.device)
    return x.index_select(dim, indices)


def box_filter(x: torch.Tensor, size: int, border: str = "reflect_101") -> torch.Tensor:
    """``cv2.blur(x, (size, size))``: the mean over size x size boxes, whose anchor is pixel
    ``size // 2`` of the box (an even box reaches one pixel further before than after)."""
    before, after = size // 2, size - 1 - size // 2
    for dim in (3, 2):
        x = _running_mean(pad(x, before, after, dim, border), size, dim)
    return x


def _running_mean(x: torch.Tensor, size: int, dim: int) -> torch.Tensor:
    """Means of ``size`` consecutive pixels along ``dim``, from running sums in float64 (as
    OpenCV sums float rows): the cost does not grow with ``size``, and the differences of
    large sums keep float32's precision."""
    sums = torch.cumsum(x.double(), dim)
    sums = F.pad(sums, (1, 0) if dim == 3 else (0, 0, 1, 0))
    length = sums.shape[dim] - size
    window = sums.narrow(dim, size, length) - sums.narrow(dim, 0, length)
    return (window / size).float()


def gaussian_kernel(sigma: float, device: torch.device) -> torch.Tensor:
    """The 1-D kernel of ``cv2.GaussianBlur`` on float images for ``sigma`` (size
    ``round(8 sigma + 1)``, made odd), as ``cv2.getGaussianKernel`` computes it."""
    size = math.floor(sigma * 8 + 1 + 0.5) | 1
    offsets = torch.arange(size, dtype=torch.float64) - (size - 1) / 2
    kernel = torch.exp(-(offsets**2) / (2 * sigma * sigma))
    return (kernel / kernel.sum()).to(device, torch.float32)


def gaussian_blur(x: torch.Tensor, sigma_x: float, sigma_y: float) -> torch.Tensor:
    """``cv2.GaussianBlur(x, (0, 0), sigmaX=sigma_x, sigmaY=sigma_y)``, borders reflected
    without repeating the edge (OpenCV's default)."""
    channels = x.shape[1]
    for dim, sigma in ((3, sigma_x), (2, sigma_y)):
        kernel = gaussian_kernel(sigma, x.device)
        reach = kernel.numel() // 2
        shape = (channels, 1, 1, -1) if dim == 3 else (channels, 1, -1, 1)
        weight = kernel.reshape(1, 1, -1).expand(channels, 1, -1).reshape(shape)
        x = F.conv2d(pad(x, reach, reach, dim, "reflect_101"), weight, groups=channels)
    return x
