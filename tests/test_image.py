"""Input conversion to RGB uint8 and the network's working size."""

from __future__ import annotations

import numpy as np
import pytest

from modnet import (
    ASPECT_ALLOWANCE,
    INPUT_SIZE_MAX,
    MAX_NETWORK_PIXELS,
    network_pixel_cap,
    network_size,
    to_rgb_uint8,
)
from modnet.image import STRIPE_PIXELS, row_stripes, stripe_rows


@pytest.fixture
def rgb() -> np.ndarray:
    return np.random.default_rng(1).integers(0, 256, size=(6, 5, 3), dtype=np.uint8)


# --- to_rgb_uint8: accepted formats ------------------------------------------------------------


def test_rgb_uint8_is_returned_unchanged(rgb: np.ndarray) -> None:
    out = to_rgb_uint8(rgb)

    assert out.dtype == np.uint8
    np.testing.assert_array_equal(out, rgb)


@pytest.mark.parametrize("shape", [(6, 5), (6, 5, 1)], ids=["HxW", "HxWx1"])
def test_grayscale_is_repeated_on_three_channels(shape: tuple[int, ...]) -> None:
    gray = np.arange(30, dtype=np.uint8).reshape(shape)

    out = to_rgb_uint8(gray)

    assert out.shape == (6, 5, 3)
    assert out.dtype == np.uint8
    for channel in range(3):
        np.testing.assert_array_equal(out[:, :, channel], gray.reshape(6, 5))


def test_rgba_alpha_is_ignored(rgb: np.ndarray) -> None:
    alpha = np.random.default_rng(2).integers(0, 256, size=(6, 5), dtype=np.uint8)

    out = to_rgb_uint8(np.dstack((rgb, alpha)))

    assert out.shape == (6, 5, 3)
    np.testing.assert_array_equal(out, rgb)


def test_uint16_full_scale_and_multiples_of_257() -> None:
    levels = np.arange(256, dtype=np.uint16)
    image = np.stack([levels * 257, np.full(256, 65535, np.uint16), np.zeros(256, np.uint16)])

    out = to_rgb_uint8(image)[:, :, 0]

    np.testing.assert_array_equal(out[0], np.arange(256))
    assert (out[1] == 255).all()
    assert (out[2] == 0).all()


def test_uint16_rounds_every_value_to_nearest_level() -> None:
    # v * 255 / 65535 = v / 257 never falls halfway between two integers, so rint is exact.
    values = np.arange(65536, dtype=np.uint16).reshape(256, 256)

    out = to_rgb_uint8(values)[:, :, 0]

    np.testing.assert_array_equal(out, np.rint(values / 257.0).astype(np.uint8))


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_float_in_unit_range_is_scaled_to_255(dtype: type) -> None:
    image = np.array([[0.0, 0.25, 0.5, 1.0]], dtype=dtype)

    out = to_rgb_uint8(image)[:, :, 0]

    np.testing.assert_array_equal(out, [[0, 64, 128, 255]])


# --- to_rgb_uint8: rejected inputs -------------------------------------------------------------


@pytest.mark.parametrize("bad_value", [1.5, -0.1, np.nan, np.inf])
def test_float_outside_unit_range_or_nan_is_rejected(bad_value: float) -> None:
    image = np.full((4, 4, 3), 0.5)
    image[1, 2, 0] = bad_value

    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        to_rgb_uint8(image)


@pytest.mark.parametrize("dtype", [np.int32, np.int64, np.bool_, np.complex64])
def test_unsupported_dtype_is_rejected(dtype: type) -> None:
    with pytest.raises(ValueError, match="image"):
        to_rgb_uint8(np.ones((4, 4, 3), dtype=dtype))


@pytest.mark.parametrize(
    "shape",
    [(4, 4, 2), (1, 4, 4, 3), (4,), (0, 4), (4, 0, 3)],
    ids=["HxWx2", "4-D", "1-D", "empty-0xW", "empty-Hx0x3"],
)
def test_bad_shape_is_rejected(shape: tuple[int, ...]) -> None:
    with pytest.raises(ValueError, match="image"):
        to_rgb_uint8(np.zeros(shape, dtype=np.uint8))


@pytest.mark.parametrize(
    "make",
    [
        lambda rgb: rgb,
        lambda rgb: rgb[:, :, 0],
        lambda rgb: rgb[:, :, :1],
        lambda rgb: np.dstack((rgb, rgb[:, :, 0])),
        lambda rgb: rgb.astype(np.uint16) * 257,
        lambda rgb: rgb / 255.0,
    ],
    ids=["rgb", "gray", "HxWx1", "rgba", "uint16", "float"],
)
def test_input_buffer_is_never_modified(rgb: np.ndarray, make) -> None:
    image = make(rgb)
    before = image.copy()

    to_rgb_uint8(image)

    np.testing.assert_array_equal(image, before)


# --- network_size ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("height", "width", "input_size", "expected"),
    [
        (512, 512, 512, (512, 512)),
        (1280, 1920, 512, (512, 768)),
        (1920, 1280, 512, (768, 512)),
        (1333, 2000, 512, (512, 768)),  # 768.19 floored
        (1365, 1024, 512, (672, 512)),  # 682.5 -> 672
        (1000, 1700, 512, (512, 864)),  # 870.4 -> 864
        (720, 1280, 256, (256, 448)),  # 455.1 -> 448
        # In floats 98 * (512 / 98) = 511.99999999999994 and 147 * (512 / 98) = 767.9999999999999.
        (98, 147, 512, (512, 768)),
        (147, 98, 512, (768, 512)),
        (49, 80, 512, (512, 832)),  # 835.9 -> 832
        (100, 150, 512, (512, 768)),  # small images are enlarged
        (1, 1, 512, (512, 512)),
        (33, 50, 32, (32, 32)),  # 48.48 -> 32
        (5000, 10, 32, (128, 32)),  # capped at 4 x 32 x 32 = 4096 pixels: 2.02 x 1011.9, 32 wide
        # Beyond the cap, 4 x input_size^2 up to MAX_NETWORK_PIXELS, the scale is
        # sqrt(cap / pixels): at 512, sqrt(1048576 / pixels).
        (10, 5000, 512, (32, 22880)),  # 4.579: 45.79 x 22897.7
        (100, 5000, 512, (128, 7232)),  # 1.448: 144.8 x 7240.8
        (1280, 5120, 512, (512, 2048)),  # 4:1 is not capped
        (1280, 5121, 512, (480, 2048)),  # beyond 4:1: 511.95 x 2048.2
        (100, 5000, 1024, (192, 10240)),
        (333, 517, 1024, (1024, 1568)),  # 1.6 megapixels: within the bound
        # A side raised to 32 leaves the other at most the cap // 32.
        (1, 5000, 512, (32, 32768)),
        (5000, 1, 1024, (65536, 32)),
    ],
)
def test_network_size(height: int, width: int, input_size: int, expected: tuple[int, int]) -> None:
    assert network_size(height, width, input_size) == expected


@pytest.mark.parametrize("input_size", [32, 256, 512, 1024])
def test_network_size_short_side_exact_and_long_side_floored(input_size: int) -> None:
    unbounded = 1 << 62  # the short-side rule alone
    for short in range(1, 2500, 3):
        for long in (short, short + 1, short * 4 // 3, short * 3 // 2 + 7, short * 5):
            height, width = network_size(short, long, input_size, unbounded)

            assert height == input_size, (short, long)
            assert width % 32 == 0 and width >= 32, (short, long)
            # Exact integers: width <= long * input_size / short < width + 32.
            assert width * short <= long * input_size < (width + 32) * short, (short, long)
            assert network_size(long, short, input_size, unbounded) == (width, height)


@pytest.mark.parametrize("input_size", [32, 512, INPUT_SIZE_MAX])
@pytest.mark.parametrize(
    "shape",
    [(1, 1), (1, 100_000), (7, 31_000), (16, 5000), (200, 6000), (6000, 4000), (99_999, 3)],
)
def test_network_input_never_exceeds_its_pixel_bound(shape: tuple[int, int], input_size) -> None:
    for height, width in (shape, shape[::-1]):
        net_height, net_width = network_size(height, width, input_size)

        assert net_height * net_width <= network_pixel_cap(input_size), (height, width)
        assert network_pixel_cap(input_size) <= MAX_NETWORK_PIXELS
        assert net_height % 32 == 0 and net_width % 32 == 0
        assert min(net_height, net_width) >= 32
        # The long side stays the long side.
        assert (net_height >= net_width) == (height >= width) or net_height == net_width


@pytest.mark.parametrize("aspect", [1.0, 4 / 3, 1.5, 2.0])
def test_ordinary_photos_at_the_largest_input_size_are_not_bounded(aspect: float) -> None:
    short = 3000
    height, width = short, int(short * aspect)

    assert network_size(height, width, INPUT_SIZE_MAX)[0] == INPUT_SIZE_MAX


@pytest.mark.parametrize("input_size", [32, 256, 512, 704])
@pytest.mark.parametrize("aspect", [1.0, 1.5, 2.0, 3.0, ASPECT_ALLOWANCE])
def test_photos_up_to_the_aspect_allowance_keep_their_input_size(aspect, input_size) -> None:
    # The cap follows input_size: at every size up to 704, ordinary photos up to 4:1 are never
    # capped below it, in either orientation.
    for short in (input_size, 1000, 3000):
        long = int(short * aspect)
        assert network_size(short, long, input_size)[0] == input_size, (short, long)
        assert network_size(long, short, input_size)[1] == input_size, (short, long)


def test_thin_strips_at_the_default_size_cost_what_a_4_to_1_photo_costs() -> None:
    # 16 x 5000 once took a 2,097,152-pixel input at every input size; now half that at 512.
    cap = network_pixel_cap(512)
    assert cap == ASPECT_ALLOWANCE * 512 * 512 == 1_048_576
    for shape in ((16, 5000), (100, 5000), (5000, 40), (1, 100_000)):
        net_height, net_width = network_size(*shape, 512)
        assert net_height * net_width <= cap, shape
    assert network_pixel_cap(INPUT_SIZE_MAX) == MAX_NETWORK_PIXELS


# --- row_stripes: the stripes of the full-resolution passes --------------------------------------


@pytest.mark.parametrize("height, width", [(1, 1), (1000, 700), (4000, 6000), (5, 400000)])
def test_row_stripes_cover_every_row_once(height: int, width: int) -> None:
    stripes = list(row_stripes(height, width))

    rows = np.concatenate([np.arange(height)[stripe] for stripe in stripes])
    np.testing.assert_array_equal(rows, np.arange(height))
    assert all(stripe.stop - stripe.start <= stripe_rows(width) for stripe in stripes)
    # A row wider than a stripe's pixels is a stripe of its own, never none.
    assert stripe_rows(width) == max(1, STRIPE_PIXELS // width)
