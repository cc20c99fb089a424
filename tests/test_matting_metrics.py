"""The matting errors of scripts/benchmarks/matting_metrics.py on tiny hand-checked cases."""

from __future__ import annotations

import math

import numpy as np
import pytest

from matting_metrics import (
    connectivity_error,
    gaussian_derivative_kernels,
    gradient_error,
    gradient_magnitude,
    mad,
    mse,
)


def test_mse_and_mad_by_hand() -> None:
    pred = np.array([[0.0, 1.0], [0.5, 0.5]])
    truth = np.array([[0.0, 0.5], [0.5, 1.0]])

    assert mse(pred, truth) == pytest.approx((0.25 + 0.25) / 4)
    assert mad(pred, truth) == pytest.approx((0.5 + 0.5) / 4)
    assert mad(pred, truth, region=np.array([[True, True], [False, False]])) == 0.25


def test_gradient_kernel_is_deep_image_matting_s() -> None:
    gauss, derivative = gaussian_derivative_kernels(1.4)

    # half width ceil(1.4 * sqrt(-2 ln(sqrt(2 pi) * 1.4 * 0.01))) = ceil(3.62) = 4
    assert gauss.shape == derivative.shape == (9,)
    assert gauss[4] == pytest.approx(1 / (1.4 * math.sqrt(2 * math.pi)))
    np.testing.assert_allclose(derivative, -derivative[::-1])  # odd
    assert derivative[4] == 0
    assert np.sum(np.outer(gauss, derivative) ** 2) == pytest.approx(1.0)  # unit L2 norm


def reference_gradient(alpha: np.ndarray) -> np.ndarray:
    """Deep Image Matting's gaussgradient, literally: a 2-D kernel g(i) g'(j), normalised,
    convolved with the replicate-padded image."""
    sigma, half = 1.4, 4
    offsets = np.arange(-half, half + 1)
    gauss = np.exp(-(offsets**2) / (2 * sigma**2)) / (sigma * np.sqrt(2 * np.pi))
    kernel_x = np.outer(gauss, -offsets * gauss / sigma**2)
    kernel_x /= np.sqrt(np.sum(kernel_x**2))
    padded = np.pad(alpha, half, mode="edge")
    height, width = alpha.shape
    gx, gy = np.zeros_like(alpha), np.zeros_like(alpha)
    for y in range(height):
        for x in range(width):
            window = padded[y : y + 2 * half + 1, x : x + 2 * half + 1][::-1, ::-1]
            gx[y, x] = np.sum(window * kernel_x)
            gy[y, x] = np.sum(window * kernel_x.T)
    return np.sqrt(gx**2 + gy**2)


def test_gradient_magnitude_matches_the_literal_definition() -> None:
    alpha = np.random.default_rng(0).uniform(0, 1, (11, 14))

    np.testing.assert_allclose(gradient_magnitude(alpha), reference_gradient(alpha), atol=1e-12)


def test_gradient_error_of_a_step_against_a_flat_matte() -> None:
    truth = np.zeros((12, 12))
    truth[:, 6:] = 1.0
    flat = np.zeros_like(truth)

    expected = np.sum(reference_gradient(truth) ** 2)
    assert gradient_error(flat, truth) == pytest.approx(expected)
    assert gradient_error(truth, truth) == 0.0
    # Only the columns next to the step have a gradient.
    assert gradient_error(flat, truth, region=np.zeros_like(truth, dtype=bool)) == 0.0
    assert gradient_magnitude(truth)[:, :2].max() == 0.0


def block_with_pixel(pixel: tuple[int, int], value: float) -> np.ndarray:
    """A 5 x 5 matte: a 3 x 3 block of ones at the top left and one more pixel of ``value``."""
    alpha = np.zeros((5, 5))
    alpha[:3, :3] = 1.0
    alpha[pixel] = value
    return alpha


# The pixel is 0.3 in the truth and 0.4 in the prediction. Attached to the block, both mattes
# keep it connected up to 0.3, and 0.4 - 0.3 < 0.15: no error. Cut off from the block, its
# level is 0: phi = 1 - 0.4 against 1 - 0.3, error 0.1. A diagonal neighbour is cut off too:
# the regions are 4-connected.
@pytest.mark.parametrize(
    ("pixel", "expected"),
    [((3, 1), 0.0), ((4, 4), 0.1), ((3, 3), 0.1)],
    ids=["attached", "isolated", "diagonal"],
)
def test_connectivity_error_by_hand(pixel: tuple[int, int], expected: float) -> None:
    pred, truth = block_with_pixel(pixel, 0.4), block_with_pixel(pixel, 0.3)

    assert connectivity_error(pred, truth) == pytest.approx(expected)
    assert connectivity_error(truth, truth) == 0.0


def test_connectivity_error_of_an_isolated_false_positive() -> None:
    # A pixel of 1 where the truth is 0 is never connected: level 0, phi 0 against 1.
    truth = block_with_pixel((4, 4), 0.0)
    pred = block_with_pixel((4, 4), 1.0)

    assert connectivity_error(pred, truth) == pytest.approx(1.0)
    assert connectivity_error(pred, truth, region=truth > 0) == 0.0


def test_connectivity_error_without_any_shared_region() -> None:
    empty = np.zeros((4, 4))
    full = np.ones((4, 4))

    # Levels 0 everywhere: phi = 1 - alpha, so the error is the sum of |pred - truth|.
    assert connectivity_error(full, empty) == pytest.approx(16.0)
    assert connectivity_error(empty, empty) == 0.0
