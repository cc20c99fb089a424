"""The device twins (``*_torch.py``) run on the CPU against their NumPy originals: each within
a grey level on real photos."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch

from modnet.edit import compositing
from modnet.edit.compositing_torch import (
    cutout_torch,
    over_blur_torch,
    over_color_torch,
    over_image_torch,
)
from modnet.edit.foreground import estimate_foreground
from modnet.edit.foreground_torch import estimate_foreground_torch
from modnet.pipeline.filters_torch import box_filter, gaussian_blur


def grey_levels(a: np.ndarray, b: torch.Tensor) -> np.ndarray:
    return np.abs(a.astype(np.int16) - b.numpy().astype(np.int16))


def planes(image: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(image).permute(2, 0, 1)[None]


@pytest.mark.parametrize("shape", [(50, 70), (7, 30)])
def test_filters_reproduce_opencv_even_with_kernels_wider_than_the_image(shape) -> None:
    image = np.random.default_rng(0).random((*shape, 3), dtype=np.float32)
    for size in (90, 6, 5):
        expected = cv2.blur(image, (size, size))
        np.testing.assert_allclose(
            box_filter(planes(image), size)[0].permute(1, 2, 0), expected, atol=1e-6
        )
    expected = cv2.blur(image, (5, 5), borderType=cv2.BORDER_REFLECT)
    result = box_filter(planes(image), 5, "reflect")[0].permute(1, 2, 0)
    np.testing.assert_allclose(result, expected, atol=1e-6)
    expected = cv2.GaussianBlur(image, (0, 0), sigmaX=3.7, sigmaY=4.2)
    result = gaussian_blur(planes(image), 3.7, 4.2)[0].permute(1, 2, 0)
    np.testing.assert_allclose(result, expected, atol=1e-6)


@pytest.fixture(scope="module")
def matted(session, sample_rgb):
    return sample_rgb, session.predict(sample_rgb).matte


def test_estimated_foreground_twin_is_within_a_grey_level(matted) -> None:
    image, matte = matted
    expected = estimate_foreground(image, matte)

    result = estimate_foreground_torch(torch.from_numpy(image), torch.from_numpy(matte))

    assert result.dtype == torch.uint8 and tuple(result.shape) == expected.shape
    assert grey_levels(expected, result).max() <= 1


def test_cutout_and_composite_twins_are_within_a_grey_level(matted, ppm100_pairs) -> None:
    image, matte = matted
    foreground = np.ascontiguousarray(image[:, ::-1])  # colours unlike the photo's
    background = ppm100_pairs[0][1][::4, ::4]
    fg, alpha = torch.from_numpy(foreground), torch.from_numpy(matte)
    cases = [
        (compositing.cutout(foreground, matte), cutout_torch(fg, alpha)),
        (
            compositing.over_color(foreground, matte, (0, 0, 0)),
            over_color_torch(fg, alpha, (0, 0, 0)),
        ),
        (
            compositing.over_color(foreground, matte, (10, 200, 77)),
            over_color_torch(fg, alpha, (10, 200, 77)),
        ),
        (
            compositing.over_image(foreground, matte, background),
            over_image_torch(fg, alpha, torch.from_numpy(np.ascontiguousarray(background))),
        ),
        (
            compositing.over_blur(image, foreground, matte, 10.0),
            over_blur_torch(torch.from_numpy(image), fg, alpha, 10.0),
        ),
    ]
    for expected, result in cases:
        assert tuple(result.shape) == expected.shape
        assert grey_levels(expected, result).max() <= 1


@pytest.mark.parametrize(("quality", "input_size"), [("fast", 512), ("fast", 768), ("high", 512)])
def test_device_pipeline_on_the_cpu_gives_the_host_matte(
    checkpoint, tmp_path, sample_rgb, quality, input_size
) -> None:
    from modnet import MattingSession

    session = MattingSession(checkpoint, backend="torch", precision="fp32", cache_dir=tmp_path)
    expected = session.predict(sample_rgb, input_size, quality=quality).matte
    session.on_device = True  # what a session on a GPU sets

    result = session.predict(sample_rgb, input_size, quality=quality)

    assert session.output_device == "cpu" and result.tensors is not None
    assert grey_levels(expected, torch.from_numpy(result.matte)).max() <= 2
    np.testing.assert_array_equal(result.tensors[1].numpy(), result.matte)
