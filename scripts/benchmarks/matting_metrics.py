"""Alpha-matting errors between a predicted and a ground-truth matte, both floats in [0, 1].

MSE and MAD are means over the pixels. The Gradient and Connectivity errors are those of
Rhemann et al. (CVPR 2009), as implemented in the evaluation code of Deep Image Matting (Xu et
al., CVPR 2017) and used since on PPM-100 and other portrait benchmarks: sums over the pixels,
which the literature reports divided by 1000. A trimap-free benchmark sums over the whole
image; ``region`` restricts any of them to a boolean mask (e.g. a trimap's unknown band).
"""

from __future__ import annotations

import itertools
import math

import cv2
import numpy as np

# Deep Image Matting's choices: Gaussian derivative filters of sigma 1.4, truncated where the
# Gaussian falls below 1% of its peak density; alpha thresholds in steps of 0.1; a pixel keeps
# its connectivity while it is within 0.15 of the last level at which it was connected.
GRADIENT_SIGMA = 1.4
GRADIENT_EPSILON = 1e-2
CONNECTIVITY_STEPS = 10
CONNECTIVITY_THETA = 0.15


def _select(error_map: np.ndarray, region: np.ndarray | None) -> np.ndarray:
    return error_map if region is None else error_map[region]


def mse(pred: np.ndarray, truth: np.ndarray, region: np.ndarray | None = None) -> float:
    error = pred.astype(np.float64) - truth
    return float(np.mean(_select(error**2, region)))


def mad(pred: np.ndarray, truth: np.ndarray, region: np.ndarray | None = None) -> float:
    error = pred.astype(np.float64) - truth
    return float(np.mean(_select(np.abs(error), region)))


def gaussian_derivative_kernels(sigma: float = GRADIENT_SIGMA) -> tuple[np.ndarray, np.ndarray]:
    """The separable factors (Gaussian, its derivative) of Deep Image Matting's ``gaussgradient``
    filter ``g(y) * g'(x)``, scaled so that the 2-D filter has unit L2 norm."""
    half = math.ceil(
        sigma * math.sqrt(-2.0 * math.log(math.sqrt(2.0 * math.pi) * sigma * GRADIENT_EPSILON))
    )
    offsets = np.arange(-half, half + 1, dtype=np.float64)
    gauss = np.exp(-(offsets**2) / (2.0 * sigma**2)) / (sigma * math.sqrt(2.0 * math.pi))
    derivative = -offsets * gauss / sigma**2
    norm = math.sqrt(np.sum(gauss**2) * np.sum(derivative**2))
    return gauss, derivative / norm


def gradient_magnitude(alpha: np.ndarray, sigma: float = GRADIENT_SIGMA) -> np.ndarray:
    """|grad alpha| by Gaussian derivative filters, borders replicated (MATLAB's imfilter
    'replicate'). The filters are correlated rather than convolved: that only flips signs."""
    gauss, derivative = gaussian_derivative_kernels(sigma)
    alpha = alpha.astype(np.float64)
    gx = cv2.sepFilter2D(alpha, -1, derivative, gauss, borderType=cv2.BORDER_REPLICATE)
    gy = cv2.sepFilter2D(alpha, -1, gauss, derivative, borderType=cv2.BORDER_REPLICATE)
    return np.sqrt(gx**2 + gy**2)


def gradient_error(pred: np.ndarray, truth: np.ndarray, region: np.ndarray | None = None) -> float:
    """Sum of the squared differences of the two mattes' gradient magnitudes."""
    error_map = (gradient_magnitude(pred) - gradient_magnitude(truth)) ** 2
    return float(np.sum(_select(error_map, region)))


def _largest_component(mask: np.ndarray) -> np.ndarray:
    """The largest 4-connected component of ``mask`` (all False if it is empty)."""
    count, labels, stats, _ = cv2.connectedComponentsWithStats(
        mask.view(np.uint8), connectivity=4, ltype=cv2.CV_32S
    )
    if count <= 1:
        return np.zeros_like(mask)
    largest = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    return labels == largest


def connectivity_error(
    pred: np.ndarray, truth: np.ndarray, region: np.ndarray | None = None
) -> float:
    """Sum of |phi(pred) - phi(truth)|, where phi measures how far each pixel's alpha rises
    above the last threshold at which it still belonged to the largest 4-connected region
    that both mattes share (thresholds i / 10)."""
    pred = pred.astype(np.float64)
    truth = truth.astype(np.float64)
    thresholds = np.arange(CONNECTIVITY_STEPS + 1) / CONNECTIVITY_STEPS
    level = np.full(pred.shape, -1.0)
    for previous, threshold in itertools.pairwise(thresholds):
        connected = _largest_component((pred >= threshold) & (truth >= threshold))
        level[(level == -1.0) & ~connected] = previous
    level[level == -1.0] = 1.0

    def phi(alpha: np.ndarray) -> np.ndarray:
        above = alpha - level
        return 1.0 - above * (above >= CONNECTIVITY_THETA)

    return float(np.sum(_select(np.abs(phi(pred) - phi(truth)), region)))
