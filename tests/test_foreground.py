"""Foreground colour estimation: exact cases, the untouched pixels, real photos, errors."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

import modnet.image
from modnet.edit import foreground
from modnet.edit.compositing import cutout, over_color
from modnet.edit.foreground import (
    DEFAULT_FOREGROUND,
    FOREGROUND_ESTIMATORS,
    BlurFusion,
    _sample,
    check_foreground,
    estimate_cutout,
    estimate_foreground,
)

PERSON, SCREEN = (200, 60, 30), (20, 220, 90)


def soft_disc(height: int, width: int, edge: float) -> np.ndarray:
    """A uint8 matte: 255 inside a disc, 0 outside, a linear ramp ``edge`` pixels wide between."""
    y, x = np.mgrid[:height, :width]
    radius = np.hypot(y - height / 2, x - width / 2)
    return np.rint(np.clip((0.3 * height - radius) / edge, 0, 1) * 255).astype(np.uint8)


def uniform(height: int, width: int, color: tuple[int, int, int]) -> np.ndarray:
    image = np.empty((height, width, 3), np.uint8)
    image[...] = color
    return image


def weighted_error(
    estimate: np.ndarray, truth: np.ndarray, matte: np.ndarray, band: np.ndarray
) -> np.ndarray:
    """|alpha * (estimate - truth)| in the band: the error of a re-composite, 0-255."""
    difference = estimate[band].astype(np.float32) - truth[band]
    return np.abs(matte[band][:, None] / 255 * difference)


def test_default_is_an_estimate() -> None:
    assert FOREGROUND_ESTIMATORS[DEFAULT_FOREGROUND] is not None


def test_raw_is_the_photo() -> None:
    photo = np.random.default_rng(0).integers(0, 256, (20, 30, 3), dtype=np.uint8)
    matte = np.random.default_rng(1).integers(0, 256, (20, 30), dtype=np.uint8)

    np.testing.assert_array_equal(estimate_foreground(photo, matte, "raw"), photo)


@pytest.mark.parametrize(
    "shape, edge",
    [((256, 256), 2), ((256, 256), 6), ((1500, 2600), 3), ((1500, 2600), 16)],
    ids=["small-sharp", "small-soft", "large-sharp", "large-soft"],
)
def test_constant_colours_are_recovered(shape: tuple[int, int], edge: float) -> None:
    # One colour over another: the estimate must find the person's colour in the soft edge,
    # where the photo mixes both, at full and reduced working resolution alike.
    matte = soft_disc(*shape, edge)
    person = uniform(*shape, PERSON)
    photo = over_color(person, matte, SCREEN)
    band = (matte > 0) & (matte < 255)

    estimate = estimate_foreground(photo, matte)

    assert weighted_error(estimate, person, matte, band).max() <= 1.5
    visible = matte >= 64
    assert np.abs(estimate[visible].astype(int) - PERSON).max() <= 3
    # The photo itself is far off there: the test can fail.
    assert weighted_error(photo, person, matte, band).max() > 40


def test_pixels_outside_the_band_keep_the_photo() -> None:
    rng = np.random.default_rng(2)
    photo = rng.integers(0, 256, (60, 80, 3), dtype=np.uint8)
    matte = rng.choice(np.array([0, 128, 255], np.uint8), size=(60, 80))
    before = photo.copy()

    estimate = estimate_foreground(photo, matte)

    assert estimate.shape == photo.shape and estimate.dtype == np.uint8
    solid = matte != 128
    np.testing.assert_array_equal(estimate[solid], photo[solid])
    assert (estimate[~solid] != photo[~solid]).any()
    np.testing.assert_array_equal(photo, before)  # the input is never modified


def test_a_matte_without_band_returns_a_copy() -> None:
    photo = np.random.default_rng(3).integers(0, 256, (5, 7, 3), dtype=np.uint8)
    matte = np.zeros((5, 7), np.uint8)
    matte[2:] = 255

    estimate = estimate_foreground(photo, matte)

    np.testing.assert_array_equal(estimate, photo)
    assert not np.shares_memory(estimate, photo)


def test_other_image_formats_are_converted() -> None:
    gray = np.linspace(0, 1, 64 * 48, dtype=np.float32).reshape(48, 64)
    matte = np.full((48, 64), 100, np.uint8)

    estimate = estimate_foreground(gray, matte)

    assert estimate.shape == (48, 64, 3) and estimate.dtype == np.uint8


def test_one_pixel() -> None:
    photo = np.array([[[10, 20, 30]]], np.uint8)

    assert estimate_foreground(photo, np.array([[128]], np.uint8)).shape == (1, 1, 3)


def test_parameters_of_ones_own() -> None:
    matte = soft_disc(300, 500, 4)
    photo = over_color(uniform(300, 500, PERSON), matte, SCREEN)

    default = estimate_foreground(photo, matte, DEFAULT_FOREGROUND)
    same = estimate_foreground(photo, matte, FOREGROUND_ESTIMATORS[DEFAULT_FOREGROUND])
    coarse = estimate_foreground(photo, matte, BlurFusion(working_side=64, box_sizes=(30,)))

    np.testing.assert_array_equal(same, default)
    assert (coarse != default).any()


@pytest.mark.parametrize("foreground", list(FOREGROUND_ESTIMATORS))
def test_the_cutout_is_the_estimate_with_the_matte_as_alpha(foreground: str) -> None:
    matte = soft_disc(150, 200, 6)
    photo = np.random.default_rng(8).integers(0, 256, (150, 200, 3), dtype=np.uint8)

    rgba = estimate_cutout(photo, matte, foreground)

    expected = cutout(estimate_foreground(photo, matte, foreground), matte)
    np.testing.assert_array_equal(rgba, expected)


@pytest.mark.parametrize("shape", [(301, 257), (3, 5000)])
def test_stripes_blocks_and_threads_give_the_estimate_of_the_whole_image(
    shape: tuple[int, int], monkeypatch: pytest.MonkeyPatch, opencv_threads: None
) -> None:
    matte = soft_disc(*shape, 5)
    matte[::7, ::3] = 77  # band pixels in every stripe, the last one too
    photo = np.random.default_rng(9).integers(0, 256, (*shape, 3), dtype=np.uint8)
    monkeypatch.setattr(modnet.image, "STRIPE_PIXELS", shape[0] * shape[1])
    monkeypatch.setattr(foreground, "_FUSION_BLOCK_PIXELS", shape[0] * shape[1])
    cv2.setNumThreads(1)
    whole = estimate_foreground(photo, matte), estimate_cutout(photo, matte)

    # Stripes of 10 rows and fusion blocks of 3 rows, the last ones shorter; on the wide
    # image, one row each. Four threads take them in any order.
    monkeypatch.setattr(modnet.image, "STRIPE_PIXELS", 10 * 257)
    monkeypatch.setattr(foreground, "_FUSION_BLOCK_PIXELS", 3 * 257)
    cv2.setNumThreads(4)
    striped = estimate_foreground(photo, matte), estimate_cutout(photo, matte)

    for one, other in zip(whole, striped, strict=True):
        np.testing.assert_array_equal(one, other)


def test_sampling_matches_bilinear_resizing() -> None:
    # More points than one remap row holds, so that the padding of the last row is exercised.
    small = cv2.GaussianBlur(
        np.random.default_rng(4).random((40, 50, 3), dtype=np.float32), (0, 0), 3
    )
    height, width = 130, 170
    y, x = np.divmod(np.arange(height * width), width)

    planes = np.ascontiguousarray(small.transpose(2, 0, 1))
    values = _sample(planes, (x + 0.5) * 50 / width - 0.5, (y + 0.5) * 40 / height - 0.5)

    expected = cv2.resize(small, (width, height), interpolation=cv2.INTER_LINEAR)
    np.testing.assert_allclose(values, expected.reshape(-1, 3), atol=2e-3)


def test_real_photos_beat_raw_colours_threefold(ppm100_pairs) -> None:
    # The benchmark's protocol on three dev photos: each photo's colours over green with its
    # ground-truth matte; the estimate must cut the raw colours' error at least threefold.
    for stem, photo, truth in ppm100_pairs:
        mixed = over_color(photo, truth, (0, 255, 0))
        band = (truth > 0) & (truth < 255)

        raw = weighted_error(mixed, photo, truth, band).mean()
        estimated = weighted_error(estimate_foreground(mixed, truth), photo, truth, band).mean()

        assert estimated <= raw / 3, (stem, raw, estimated)


def test_unknown_estimator_names_the_accepted_values() -> None:
    with pytest.raises(ValueError, match="foreground: expected one of raw, estimated, got 'ml'"):
        check_foreground("ml")


@pytest.mark.parametrize(
    "matte", [np.zeros((4, 5), np.float32), np.zeros((5, 4), np.uint8)], ids=["dtype", "shape"]
)
def test_bad_mattes_are_refused(matte: np.ndarray) -> None:
    with pytest.raises(ValueError, match=r"matte: expected a uint8 array of shape \(4, 5\)"):
        estimate_foreground(np.zeros((4, 5, 3), np.uint8), matte)
