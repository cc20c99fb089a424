"""Mattes from several passes of the network: the semantics of the size MODNet was trained at,
the details of larger sizes, and, in the high-quality mode, a consensus of three scales refined
by the full-resolution photo.

MODNet's semantic branch was trained on inputs near 512 pixels: a larger input shows it a
person bigger than its receptive field and whole regions flip (on the PPM-100 dev photos, 768
gives 3.6 times the MSE of 512), while its detail branch does see finer hair. A larger pass
therefore contributes only its fine scales, those that the 512 grid cannot represent, on top of
the 512 pass's matte. Both are whole passes of the network, so any backend runs them.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..image import resize
from ..limits import STRIDE
from .guided_filter import guided_upsample

QUALITIES = ("fast", "high")
DEFAULT_QUALITY = "fast"
# The input size whose semantics the other passes keep.
SEMANTIC_SIZE = 512
# ``high``: passes at these fractions of the semantic size, e.g. 384, 448 and 512.
HIGH_SCALES = (3 / 4, 7 / 8, 1)
# ``high``: the guided filter's window radius, in pixels of the largest pass, and its
# regularisation for a guide in [0, 1].
GUIDE_RADIUS = 2
GUIDE_EPS = 1e-4

# The float alpha of one pass of the network at an input size, at the network's resolution.
AlphaAt = Callable[[int], np.ndarray]


def check_quality(quality: str) -> str:
    if quality not in QUALITIES:
        raise ValueError(f"quality: expected one of {', '.join(QUALITIES)}, got {quality!r}")
    return quality


def with_details(semantic: np.ndarray, detailed: np.ndarray) -> np.ndarray:
    """At ``detailed``'s (larger) size: ``semantic`` enlarged, plus what ``detailed`` holds
    beyond the frequencies of ``semantic``'s grid (``detailed`` minus itself shrunk to that
    grid and enlarged back)."""
    height, width = detailed.shape
    coarse = resize(resize(detailed, *semantic.shape[::-1]), width, height)
    return np.clip(resize(semantic, width, height) + (detailed - coarse), 0.0, 1.0)


def _with_input_details(alpha_at: AlphaAt, alpha: np.ndarray, input_size: int) -> np.ndarray:
    """``alpha`` (from passes up to :data:`SEMANTIC_SIZE`) as it is for an ``input_size`` up to
    the semantic size; above it, with the details of the ``input_size`` pass."""
    if input_size <= SEMANTIC_SIZE:
        return alpha
    return with_details(alpha, alpha_at(input_size))


def fast_alpha(alpha_at: AlphaAt, input_size: int) -> np.ndarray:
    """One pass up to :data:`SEMANTIC_SIZE` (the MODNet paper's protocol); above it, the
    semantic size's matte with the larger pass's details."""
    return _with_input_details(alpha_at, alpha_at(min(input_size, SEMANTIC_SIZE)), input_size)


def high_sizes(input_size: int) -> tuple[int, ...]:
    """The input sizes of ``high``'s consensus: :data:`HIGH_SCALES` of ``input_size`` or of the
    semantic size, whichever is smaller, floored to multiples of 32."""
    base = min(input_size, SEMANTIC_SIZE)
    return tuple(max(STRIDE, int(base * scale) // STRIDE * STRIDE) for scale in HIGH_SCALES)


def pass_sizes(quality: str, input_size: int) -> tuple[int, ...]:
    """The input sizes of the passes that a matte of ``quality`` at ``input_size`` runs, so
    that the passes of several images can run together (see :func:`fast_alpha`,
    :func:`high_alpha`)."""
    first = high_sizes(input_size) if quality == "high" else (min(input_size, SEMANTIC_SIZE),)
    return first + ((input_size,) if input_size > SEMANTIC_SIZE else ())


def high_alpha(alpha_at: AlphaAt, input_size: int) -> np.ndarray:
    """The pixel-wise median of the passes at :func:`high_sizes`, at the largest one's size: a
    region that one scale gets wrong is outvoted by the other two. Above the semantic size, the
    ``input_size`` pass's details are added as in :func:`fast_alpha`."""
    alphas = [alpha_at(size) for size in high_sizes(input_size)]
    height, width = alphas[-1].shape
    consensus = np.median([resize(alpha, width, height) for alpha in alphas], axis=0)
    return _with_input_details(alpha_at, consensus.astype(np.float32), input_size)


def high_quality_matte(alpha_at: AlphaAt, rgb: np.ndarray, input_size: int) -> np.ndarray:
    """The H x W uint8 matte of the H x W x 3 uint8 ``rgb`` in the ``high`` mode: the
    :func:`high_alpha` brought to the photo's size by guided upsampling."""
    alpha = high_alpha(alpha_at, input_size)
    guide_small = resize(rgb, *alpha.shape[::-1])
    refined = guided_upsample(alpha, guide_small, rgb, GUIDE_RADIUS, GUIDE_EPS)
    return np.rint(refined * 255.0).astype(np.uint8)
