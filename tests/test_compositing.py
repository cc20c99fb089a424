"""The person on a new background: blending, cover resizing, the lens blur, argument checks."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

import modnet.image
from modnet.edit.compositing import (
    BACKGROUNDS,
    check_background,
    check_background_color,
    check_blur_strength,
    cover,
    cutout,
    over_black,
    over_blur,
    over_color,
    over_image,
    replace_background,
)

RED, BLUE = (220, 30, 40), (20, 40, 230)


def uniform(height: int, width: int, color: tuple[int, int, int]) -> np.ndarray:
    image = np.empty((height, width, 3), np.uint8)
    image[...] = color
    return image


@pytest.fixture
def disc() -> np.ndarray:
    """A 120 x 160 matte: a disc of 255 with a 6-pixel soft edge, 0 around."""
    y, x = np.mgrid[:120, :160]
    radius = np.hypot(y - 60, x - 80)
    return np.rint(np.clip((40 - radius) / 6, 0, 1) * 255).astype(np.uint8)


# --- blending -----------------------------------------------------------------------------------


def test_cutout_is_foreground_with_matte_as_alpha(disc: np.ndarray) -> None:
    foreground = np.random.default_rng(0).integers(0, 256, (*disc.shape, 3), dtype=np.uint8)

    rgba = cutout(foreground, disc)

    assert rgba.shape == (*disc.shape, 4) and rgba.dtype == np.uint8
    np.testing.assert_array_equal(rgba[..., :3], foreground)
    np.testing.assert_array_equal(rgba[..., 3], disc)


def test_over_color_mixes_by_alpha_and_rounds() -> None:
    matte = np.array([[0, 255, 128, 51]], np.uint8)
    foreground = uniform(1, 4, (200, 0, 100))

    out = over_color(foreground, matte, (0, 100, 255))

    expected = np.rint(
        matte[..., None] / 255 * [200, 0, 100] + (1 - matte[..., None] / 255) * [0, 100, 255]
    )
    np.testing.assert_array_equal(out, expected.astype(np.uint8))


def test_over_black_is_the_blend_with_black() -> None:
    rng = np.random.default_rng(6)
    foreground = rng.integers(0, 256, (64, 96, 3), dtype=np.uint8)
    matte = rng.integers(0, 256, (64, 96), dtype=np.uint8)

    out = over_color(foreground, matte, (0, 0, 0))

    expected = np.rint(foreground * (matte[..., None] / 255.0)).astype(np.uint8)
    np.testing.assert_array_equal(out, expected)
    # The same rounding as any other colour's blend, whose black would be 0 + (0 - 0).
    almost_black = over_color(foreground, matte, (0, 0, 1))
    np.testing.assert_array_equal(out[..., :2], almost_black[..., :2])


@pytest.mark.parametrize("stripe_pixels", [1 << 18, 5 * 96])
def test_over_black_of_the_cutout_is_over_color_black(
    stripe_pixels: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # One stripe, then stripes of 5 rows (the last one of 4).
    monkeypatch.setattr(modnet.image, "STRIPE_PIXELS", stripe_pixels)
    rng = np.random.default_rng(7)
    foreground = rng.integers(0, 256, (64, 96, 3), dtype=np.uint8)
    matte = rng.integers(0, 256, (64, 96), dtype=np.uint8)
    matte[:8], matte[8:16] = 0, 255  # every product, rounding included, and both ends

    np.testing.assert_array_equal(
        over_black(cutout(foreground, matte)), over_color(foreground, matte, (0, 0, 0))
    )
    with pytest.raises(ValueError, match="rgba: expected uint8 H x W x 4"):
        over_black(foreground)


def test_over_image_uses_the_covering_background(disc: np.ndarray) -> None:
    rng = np.random.default_rng(1)
    foreground = rng.integers(0, 256, (*disc.shape, 3), dtype=np.uint8)
    background = rng.integers(0, 256, (300, 200, 3), dtype=np.uint8)  # portrait: cropped

    out = over_image(foreground, disc, background)

    covered = cover(background, *disc.shape)
    np.testing.assert_array_equal(out[disc == 0], covered[disc == 0])
    np.testing.assert_array_equal(out[disc == 255], foreground[disc == 255])


# --- cover --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "source, target",
    [((50, 200), (50, 50)), ((200, 50), (60, 90)), ((31, 47), (480, 640)), ((7, 7), (3, 11))],
)
def test_cover_fills_the_frame(source: tuple[int, int], target: tuple[int, int]) -> None:
    image = np.zeros((*source, 3), np.uint8)

    assert cover(image, *target).shape == (*target, 3)


def test_cover_crops_the_centre_of_a_wide_image() -> None:
    # Columns 0-9 black, 10-19 white, 20-29 black: the centred 10 x 10 window is the white band.
    image = np.zeros((10, 30, 3), np.uint8)
    image[:, 10:20] = 255

    out = cover(image, 10, 10)

    assert (out == 255).all()


def test_cover_crops_the_centre_of_a_tall_image_and_enlarges() -> None:
    image = np.zeros((30, 10, 3), np.uint8)
    image[10:20] = 255

    out = cover(image, 40, 40)

    assert out.shape == (40, 40, 3)
    assert (out[2:-2] == 255).all()  # bilinear enlargement of a uniform band


# --- blur ---------------------------------------------------------------------------------------


def test_blur_keeps_the_person_out_of_the_background(disc: np.ndarray) -> None:
    # A red person on blue: the blurred background stays blue right up to the person's edge,
    # where a plain blur of the photo would turn purple.
    foreground = uniform(*disc.shape, RED)
    photo = over_color(foreground, disc, BLUE)

    out = over_blur(photo, foreground, disc, strength=5.0)

    np.testing.assert_allclose(out[disc == 0], np.broadcast_to(BLUE, out[disc == 0].shape), atol=1)
    plain = cv2.GaussianBlur(photo, (0, 0), 8)
    assert np.abs(plain[disc == 0].astype(int) - BLUE).max() > 50  # the test can fail


def test_blur_strength_smooths_more(disc: np.ndarray) -> None:
    photo = np.random.default_rng(2).integers(0, 256, (*disc.shape, 3), dtype=np.uint8)
    empty = np.zeros_like(disc)

    spreads = [over_blur(photo, photo, empty, strength).std() for strength in (0.5, 2.0, 8.0)]

    assert spreads[0] > spreads[1] > spreads[2]
    assert spreads[0] < photo.std()


@pytest.mark.parametrize("shape", [(1, 3000), (2, 3000), (3000, 2), (3000, 1), (400, 600)])
def test_blur_is_the_full_resolution_blur_at_any_shape(shape: tuple[int, int]) -> None:
    # No person: the composite is the photo blurred; the working resolution may be smaller,
    # but the blur must stay the one asked for along both axes.
    rng = np.random.default_rng(5)
    photo = cv2.resize(rng.integers(0, 255, (8, 12, 3), dtype=np.uint8), shape[::-1])
    empty = np.zeros(shape, np.uint8)
    sigma = 2.0 / 100 * max(shape)

    out = over_blur(photo, photo, empty, strength=2.0)

    reference = cv2.GaussianBlur(photo.astype(np.float32), (0, 0), sigma)
    assert np.abs(out - reference).max() <= 2


def test_blur_of_an_opaque_person_is_the_person(disc: np.ndarray) -> None:
    foreground = np.random.default_rng(3).integers(0, 256, (*disc.shape, 3), dtype=np.uint8)
    opaque = np.full_like(disc, 255)

    np.testing.assert_array_equal(over_blur(foreground, foreground, opaque), foreground)


# --- replace_background -------------------------------------------------------------------------


@pytest.mark.parametrize("background", BACKGROUNDS)
def test_every_background_keeps_the_opaque_person(disc: np.ndarray, background: str) -> None:
    rng = np.random.default_rng(4)
    photo = rng.integers(0, 256, (*disc.shape, 3), dtype=np.uint8)
    foreground = rng.integers(0, 256, (*disc.shape, 3), dtype=np.uint8)

    out = replace_background(
        photo, foreground, disc, background, (1, 2, 3), 1.0, background_image=photo
    )

    assert out.dtype == np.uint8
    assert out.shape == (*disc.shape, 4 if background == "transparent" else 3)
    np.testing.assert_array_equal(out[disc == 255][:, :3], foreground[disc == 255])


def test_color_background_outside_the_person(disc: np.ndarray) -> None:
    photo = uniform(*disc.shape, RED)

    out = replace_background(photo, photo, disc, "color", color=BLUE)

    assert (out[disc == 0] == BLUE).all()


@pytest.mark.parametrize("background", BACKGROUNDS)
def test_rgb_composite_replaces_the_background_without_alpha(
    disc: np.ndarray, background: str
) -> None:
    rng = np.random.default_rng(5)
    photo = rng.integers(0, 256, (*disc.shape, 3), dtype=np.uint8)
    foreground = rng.integers(0, 256, (*disc.shape, 3), dtype=np.uint8)
    args = (photo, foreground, disc, background, BLUE, 1.0, photo[::-1])

    out = replace_background(*args, rgb=True)

    # Transparent has no RGB meaning of its own: the person over black.
    expected = (
        over_color(foreground, disc, (0, 0, 0))
        if background == "transparent"
        else replace_background(*args)
    )
    np.testing.assert_array_equal(out, expected)
    assert out.shape == (*disc.shape, 3)


def test_image_background_is_required(disc: np.ndarray) -> None:
    photo = uniform(*disc.shape, RED)

    with pytest.raises(ValueError, match="background_image: required when background is 'image'"):
        replace_background(photo, photo, disc, "image")


# --- argument checks ----------------------------------------------------------------------------


def test_bad_background_names_the_accepted_values() -> None:
    with pytest.raises(ValueError, match="background: expected one of transparent, color, blur"):
        check_background("green")


@pytest.mark.parametrize(
    "color", [(0, 0), (0, 0, 0, 0), (0, 0, 256), (-1, 0, 0), (0.5, 0, 0), (True, 0, 0), "0,0,0"]
)
def test_bad_colors_are_refused(color: object) -> None:
    with pytest.raises(
        ValueError, match=r"background_color: expected three integers in \[0, 255\]"
    ):
        check_background_color(color)


def test_colors_and_strengths_accept_numpy_numbers() -> None:
    assert check_background_color(np.array([1, 2, 255]).tolist()) == (1, 2, 255)
    assert check_background_color((np.uint8(7), 8, 9)) == (7, 8, 9)
    assert check_background_color(np.array([40, 110, 220])) == (40, 110, 220)
    assert check_blur_strength(np.float32(2.0)) == 2.0
    assert check_blur_strength(np.int64(3)) == 3.0


@pytest.mark.parametrize("strength", [0, -1, 10.5, float("nan"), "2", True])
def test_bad_blur_strengths_are_refused(strength: object) -> None:
    with pytest.raises(ValueError, match=r"blur_strength: expected a number in \(0, 10\]"):
        check_blur_strength(strength)


def test_layers_must_match_the_matte(disc: np.ndarray) -> None:
    small = np.zeros((10, 10, 3), np.uint8)

    with pytest.raises(ValueError, match="foreground: expected uint8 RGB of the matte's size"):
        over_color(small, disc)
    with pytest.raises(ValueError, match="matte: expected uint8 H x W"):
        cutout(small, disc.astype(np.float32))
