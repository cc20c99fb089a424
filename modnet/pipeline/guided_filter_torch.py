"""The device twin of :mod:`modnet.pipeline.guided_filter`: guided upsampling in PyTorch, on
the tensors' device, within float rounding of the OpenCV implementation.

Tensors are N x C x H x W float: the guide 1 x 3 x h x w in [0, 1], the matte 1 x 1 x h x w.
"""

from __future__ import annotations

import torch

from ..runtime.torch_runner import resize
from .filters_torch import box_filter

_PAIRS = ((0, 0), (0, 1), (0, 2), (1, 1), (1, 2), (2, 2))


def _mean(x: torch.Tensor, radius: int) -> torch.Tensor:
    return box_filter(x, 2 * radius + 1, border="reflect")


def guided_filter_coefficients_torch(
    guide: torch.Tensor, src: torch.Tensor, radius: int, eps: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """The window-averaged coefficients ``(a, b)`` (1 x 3 x h x w and 1 x 1 x h x w) of the
    colour guided filter of ``src`` by ``guide``, as
    :func:`modnet.pipeline.guided_filter.guided_filter_coefficients` computes them."""
    mean_guide = _mean(guide, radius)
    mean_src = _mean(src, radius)
    cov_src = _mean(guide * src, radius) - mean_guide * mean_src
    # The six planes of the guide's symmetric covariance, filtered in one call.
    products = torch.cat([guide[:, i : i + 1] * guide[:, j : j + 1] for i, j in _PAIRS], dim=1)
    means = _mean(products, radius)
    cov = {}
    for plane, (i, j) in enumerate(_PAIRS):
        value = means[:, plane] - mean_guide[:, i] * mean_guide[:, j]
        cov[i, j] = cov[j, i] = value + eps if i == j else value
    adjugate = {
        (i, j): cov[(j + 1) % 3, (i + 1) % 3] * cov[(j + 2) % 3, (i + 2) % 3]
        - cov[(j + 1) % 3, (i + 2) % 3] * cov[(j + 2) % 3, (i + 1) % 3]
        for i in range(3)
        for j in range(3)
    }
    determinant = sum(cov[0, k] * adjugate[k, 0] for k in range(3))
    a = torch.stack(
        [sum(adjugate[i, k] * cov_src[:, k] for k in range(3)) / determinant for i in range(3)],
        dim=1,
    )
    b = mean_src - (a * mean_guide).sum(dim=1, keepdim=True)
    return _mean(a, radius), _mean(b, radius)


def guided_upsample_torch(
    src: torch.Tensor, guide_small: torch.Tensor, guide: torch.Tensor, radius: int, eps: float
) -> torch.Tensor:
    """``src`` (1 x 1 x h x w float), computed from ``guide_small`` (1 x 3 x h x w, the photo's
    uint8 values at that size), at the size of ``guide`` (1 x 3 x H x W, the photo's uint8
    values), clipped to [0, 1]."""
    a, b = guided_filter_coefficients_torch(guide_small / 255, src, radius, eps)
    size = tuple(guide.shape[-2:])
    result = resize(b, size)
    # Channel by channel, so that a large photo never holds more than two float planes.
    for channel in range(3):
        plane = resize(a[:, channel : channel + 1] / 255, size)
        result = result.addcmul_(plane, guide[:, channel : channel + 1])
    return result.clamp_(0.0, 1.0)
