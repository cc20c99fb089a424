"""Background image files: the pixel limit read from the header, reduced decoding, and the
cache that reads a file again whenever it changes."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from conftest import SAMPLE, read_rgb, write_png_bomb
from modnet.edit.background_file import (
    MAX_BACKGROUND_PIXELS,
    BackgroundCache,
    check_background_image,
    read_background_image,
    reduction,
)
from modnet.edit.compositing import over_image

RED = (220, 30, 40)
BOMB_SIDE = 12_000


def uniform(height: int, width: int, color: tuple[int, int, int]) -> np.ndarray:
    image = np.empty((height, width, 3), np.uint8)
    image[...] = color
    return image


@pytest.fixture(scope="module")
def bomb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_png_bomb(tmp_path_factory.mktemp("bomb") / "bomb.png", BOMB_SIDE)


def write_rgb(path: Path, rgb: np.ndarray) -> Path:
    assert cv2.imwrite(str(path), rgb[..., ::-1])
    return path


def test_background_file_is_read_as_rgb(tmp_path: Path) -> None:
    path = tmp_path / "fond é.png"  # a non-ASCII name, which cv2.imread refuses on Windows
    rgb = uniform(4, 6, RED)
    write_rgb(tmp_path / "plain.png", rgb).rename(path)

    np.testing.assert_array_equal(read_background_image(path), rgb)


@pytest.mark.parametrize(
    "name, content, message",
    [
        ("missing.png", None, "no file at"),
        ("text.png", b"hello", "is not an image file that OpenCV can read"),
        ("empty.png", b"", "is not an image file that OpenCV can read"),
        ("cut.png", b"\x89PNG\r\n\x1a\n" + bytes(64), "no image that OpenCV can read"),
    ],
)
def test_unreadable_background_file(
    tmp_path: Path, name: str, content: bytes | None, message: str
) -> None:
    if content is not None:
        (tmp_path / name).write_bytes(content)

    with pytest.raises(ValueError, match=f"background_image: .*{message}"):
        read_background_image(tmp_path / name)


def test_a_small_file_over_the_pixel_limit_is_refused_from_its_header(bomb: Path) -> None:
    assert bomb.stat().st_size < 1 << 20 and BOMB_SIDE**2 > MAX_BACKGROUND_PIXELS
    message = f"'{bomb}' is {BOMB_SIDE} x {BOMB_SIDE} pixels, more than the 100 megapixels"

    with pytest.raises(ValueError, match=f"background_image: {message}"):
        check_background_image(bomb)
    with pytest.raises(ValueError, match=f"background_image: {message}"):
        read_background_image(bomb, (512, 512))


@pytest.mark.parametrize(
    "size, frame, factor",
    [
        ((6000, 4000), (1280, 1920), 2),
        ((6000, 4000), (512, 512), 4),
        ((6000, 4000), (300, 400), 8),
        ((2400, 1600), (1600, 1000), 1),
        (None, (10, 10), 1),
        ((6000, 4000), None, 1),
    ],
)
def test_reduction_keeps_the_frame_covered(size, frame, factor) -> None:
    assert reduction(size, frame) == factor


def test_a_large_background_is_decoded_reduced_to_what_covers_the_frame(tmp_path: Path) -> None:
    photo = cv2.resize(read_rgb(SAMPLE), (2400, 1600), interpolation=cv2.INTER_LINEAR)
    path = write_rgb(tmp_path / "large.jpg", photo)
    frame = np.zeros((512, 384, 3), np.uint8)
    matte = np.zeros((512, 384), np.uint8)  # the background everywhere

    reduced = read_background_image(path, frame.shape[:2])

    assert reduced.shape == (800, 1200, 3)  # 1/2: 1/4 would no longer cover 512 rows
    full = read_background_image(path)
    difference = over_image(frame, matte, reduced).astype(int) - over_image(frame, matte, full)
    assert np.abs(difference).mean() < 1.0


def test_the_cache_reads_a_file_again_whenever_its_content_may_have_changed(
    tmp_path: Path,
) -> None:
    red, blue = uniform(8, 8, RED), uniform(8, 8, (20, 40, 230))
    path = write_rgb(tmp_path / "background.png", red)
    cache = BackgroundCache()
    first = cache.read(path, (8, 8))
    assert cache.read(path, (8, 8)) is first  # decoded once

    # Replaced by a file of the same size and modification time (cp -p, os.replace).
    other = write_rgb(tmp_path / "other.png", blue)
    assert other.stat().st_size == path.stat().st_size
    shutil.copystat(path, other)
    os.replace(other, path)
    np.testing.assert_array_equal(cache.read(path, (8, 8)), blue)

    # Rewritten in place (same inode and size), its modification time set back. File times
    # advance by clock ticks (up to 10 ms): the change time must be able to differ.
    time.sleep(0.02)
    stat = path.stat()
    path.write_bytes(write_rgb(tmp_path / "again.png", red).read_bytes())
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert path.stat().st_ino == stat.st_ino and path.stat().st_mtime_ns == stat.st_mtime_ns
    np.testing.assert_array_equal(cache.read(path, (8, 8)), red)

    cache.clear()
    assert cache.image is None
