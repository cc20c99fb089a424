"""Guided upsampling: the full-resolution photo's edges on a matte computed at lower resolution.

The colour guided filter (He et al., ECCV 2010) models the matte in each small window as a
linear function of the photo's colours, ``alpha = a . rgb + b``. The fast guided filter (He and
Sun, 2015) fits those coefficients at low resolution, where the network ran, and applies them
to the full-resolution photo: the matte follows edges the network never saw (a strand of hair
a tenth of a network pixel wide) at the cost of a few box filters on the network's grid.

The coefficients follow OpenCV's ``ximgproc.guidedFilter`` (mirror-reflected borders, ``eps``
added to the covariance's diagonal): on one grid, ``a . guide + b`` is what it returns. It is
written here with OpenCV's core because that filter has no way to apply its coefficients to a
larger image (its ``scale`` option shrinks both inputs from full resolution instead) and
because pip's OpenCV builds lack ``ximgproc``.
"""

from __future__ import annotations

import cv2
import numpy as np


def _mean(image: np.ndarray, radius: int) -> np.ndarray:
    side = 2 * radius + 1
    return cv2.blur(image, (side, side), borderType=cv2.BORDER_REFLECT)


def guided_filter_coefficients(
    guide: np.ndarray, src: np.ndarray, radius: int, eps: float
) -> tuple[np.ndarray, np.ndarray]:
    """The window-averaged coefficients ``(a, b)`` (H x W x 3 and H x W, float32) of the colour
    guided filter of ``src`` (H x W float) by ``guide`` (H x W x 3 float in [0, 1])."""
    guide = guide.astype(np.float32, copy=False)
    src = src.astype(np.float32, copy=False)
    mean_guide = _mean(guide, radius)
    mean_src = _mean(src, radius)
    cov_src = _mean(guide * src[:, :, None], radius) - mean_guide * mean_src[:, :, None]
    # The guide's regularised 3 x 3 covariance in each window (symmetric: six planes) ...
    cov = {}
    for i, j in ((0, 0), (0, 1), (0, 2), (1, 1), (1, 2), (2, 2)):
        product = _mean(guide[:, :, i] * guide[:, :, j], radius)
        cov[i, j] = cov[j, i] = product - mean_guide[:, :, i] * mean_guide[:, :, j]
        if i == j:
            cov[i, i] += eps
    # ... inverted in closed form (adjugate over determinant), pixel-wise.
    adjugate = {
        (i, j): cov[(j + 1) % 3, (i + 1) % 3] * cov[(j + 2) % 3, (i + 2) % 3]
        - cov[(j + 1) % 3, (i + 2) % 3] * cov[(j + 2) % 3, (i + 1) % 3]
        for i in range(3)
        for j in range(3)
    }
    determinant = sum(cov[0, k] * adjugate[k, 0] for k in range(3))
    a = np.dstack(
        [sum(adjugate[i, k] * cov_src[:, :, k] for k in range(3)) / determinant for i in range(3)]
    )
    b = mean_src - np.sum(a * mean_guide, axis=2)
    return _mean(a, radius), _mean(b, radius)


def guided_upsample(
    src: np.ndarray, guide_small: np.ndarray, guide: np.ndarray, radius: int, eps: float
) -> np.ndarray:
    """``src`` (h x w float), computed from ``guide_small`` (the h x w x 3 uint8 photo at that
    size), at the size of ``guide`` (the H x W x 3 uint8 photo), as float32 clipped to [0, 1]."""
    a, b = guided_filter_coefficients(guide_small / np.float32(255), src, radius, eps)
    height, width = guide.shape[:2]
    a /= 255  # the coefficients apply to the uint8 photo directly
    # Channel by channel, so that a large photo never holds more than two float32 planes.
    result = cv2.resize(b, (width, height), interpolation=cv2.INTER_LINEAR)
    for channel in range(3):
        plane = cv2.resize(
            np.ascontiguousarray(a[:, :, channel]), (width, height), interpolation=cv2.INTER_LINEAR
        )
        plane *= guide[:, :, channel]
        result += plane
    return np.clip(result, 0.0, 1.0, out=result)
