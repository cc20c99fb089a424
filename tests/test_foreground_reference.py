"""The estimated foreground against a plain float32 transcription of the same equations on real
photos: the fast path (planes, a band of pixels gathered once, weights folded per pixel) may
differ from it by rounding only, at most one grey level."""

from __future__ import annotations

import cv2
import numpy as np

from modnet import estimate_foreground
from modnet.edit.foreground import BlurFusion


def reference_foreground(rgb: np.ndarray, matte: np.ndarray, fusion: BlurFusion) -> np.ndarray:
    """Blur fusion on H x W x 3 float arrays and a dense bilinear enlargement of its smooth F
    and B, then the per-pixel least-squares correction where 0 < alpha < 1."""
    small, alpha, factor = rgb, matte, 1
    while max(small.shape[:2]) > fusion.working_side and min(small.shape[:2]) >= 2:
        height, width = small.shape[0] // 2, small.shape[1] // 2
        small = cv2.resize(small[: 2 * height, : 2 * width], (width, height), cv2.INTER_AREA)
        alpha = cv2.resize(alpha[: 2 * height, : 2 * width], (width, height), cv2.INTER_AREA)
        factor *= 2
    image = small.astype(np.float32) / 255
    a = np.repeat(alpha.astype(np.float32)[..., None] / 255, 3, axis=2)
    b = 1 - a
    ratio = fusion.foreground_weight / fusion.background_weight
    denominator = fusion.foreground_weight + a * a + b * b * ratio
    fg = bg = image
    for size in fusion.box_sizes:
        smooth_f = cv2.blur(fg * a * a, (size, size)) / (cv2.blur(a * a, (size, size)) + 1e-5)
        smooth_b = cv2.blur(bg * b * b, (size, size)) / (cv2.blur(b * b, (size, size)) + 1e-5)
        residual = image - a * smooth_f - b * smooth_b
        fg = np.clip(smooth_f + a / denominator * residual, 0, 1)
        bg = np.clip(smooth_b + b * ratio / denominator * residual, 0, 1)
    height, width = matte.shape
    y, x = np.mgrid[:height, :width].astype(np.float32)
    x, y = (x + 0.5) / factor - 0.5, (y + 0.5) / factor - 0.5
    f, b_full = (
        cv2.remap(s, x, y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        for s in (smooth_f, smooth_b)
    )
    a = np.repeat(matte.astype(np.float32)[..., None] / 255, 3, axis=2)
    residual = rgb.astype(np.float32) / 255 - a * f - (1 - a) * b_full
    estimate = np.rint(np.clip(f + a * residual / (a * a + fusion.final_weight), 0, 1) * 255)
    band = (matte > 0) & (matte < 255)
    return np.where(band[..., None], estimate.astype(np.uint8), rgb)


def test_estimate_is_within_a_grey_level_of_the_reference(ppm100_pairs) -> None:
    # Real photos at their own sizes (halved once or not at all) and their hand-made mattes.
    for stem, photo, truth in ppm100_pairs:
        fast = estimate_foreground(photo, truth).astype(np.int16)
        reference = reference_foreground(photo, truth, BlurFusion()).astype(np.int16)

        difference = np.abs(fast - reference)
        assert difference.max() <= 1, stem
        assert (difference > 0).mean() < 1e-3, stem  # rounding ties only


def test_a_large_photo_is_within_a_grey_level_of_the_reference(ppm100_pairs) -> None:
    # Enlarged past twice the working side: two halvings, so the band's sampling positions
    # fall between working pixels.
    _, photo, truth = ppm100_pairs[0]
    height, width = photo.shape[:2]
    size = (width * 2600 // max(height, width), height * 2600 // max(height, width))
    photo, truth = (cv2.resize(image, size, cv2.INTER_LINEAR) for image in (photo, truth))

    difference = np.abs(
        estimate_foreground(photo, truth).astype(np.int16)
        - reference_foreground(photo, truth, BlurFusion()).astype(np.int16)
    )
    assert difference.max() <= 1
