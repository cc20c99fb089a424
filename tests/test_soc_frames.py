"""Frames for SOC: a video file, a folder, an image file or arrays, at the working size."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from conftest import write_video
from modnet.soc.frames import read_frames, to_tensor_batch


def gradient_frames(count: int, height: int = 90, width: int = 160) -> list[np.ndarray]:
    ramp = np.linspace(0, 255, width, dtype=np.float32)[None, :, None]
    return [
        np.broadcast_to(ramp * (0.5 + 0.1 * t), (height, width, 3)).astype(np.uint8)
        for t in range(count)
    ]


def test_a_video_gives_its_frames_at_the_working_size(tmp_path):
    decoded = write_video(tmp_path / "clip.avi", gradient_frames(5), "MJPG")
    frames = read_frames(tmp_path / "clip.avi", 64)
    assert len(frames) == 5
    assert frames[0].shape == (64, 96, 3)  # 90 x 160 -> short side 64, sides floored to 32
    expected = cv2.resize(decoded[2], (96, 64), interpolation=cv2.INTER_AREA)
    np.testing.assert_array_equal(frames[2], expected)
    assert len(read_frames(tmp_path / "clip.avi", 64, max_frames=2)) == 2


def test_a_folder_gives_its_images_in_name_order(tmp_path):
    for index, frame in enumerate(gradient_frames(3)):
        cv2.imwrite(str(tmp_path / f"{index}.png"), frame[..., ::-1])
    (tmp_path / "notes.txt").write_text("not an image")
    frames = read_frames(tmp_path, 32)
    assert len(frames) == 3
    assert frames[0].mean() < frames[2].mean()
    single = read_frames(tmp_path / "1.png", 32)
    np.testing.assert_array_equal(single[0], frames[1])


def test_arrays_and_their_tensor_batch():
    frames = read_frames(gradient_frames(2, 64, 64), 64)
    batch = to_tensor_batch(frames)
    assert batch.shape == (2, 3, 64, 64) and batch.dtype == np.float32
    assert batch.min() >= -1.0 and batch.max() <= 1.0
    np.testing.assert_allclose(batch[0, :, 0, -1], frames[0][0, -1] / 127.5 - 1.0, rtol=1e-6)


def test_bad_sources_name_the_parameter(tmp_path):
    with pytest.raises(FileNotFoundError, match="frames: no such"):
        read_frames(tmp_path / "missing.mp4", 64)
    with pytest.raises(ValueError, match=r"frames: .* holds no image"):
        read_frames(tmp_path, 64)
    with pytest.raises(ValueError, match="several images"):
        read_frames(gradient_frames(1)[0], 64)
    with pytest.raises(ValueError, match="working_size: expected a multiple of 32"):
        read_frames(gradient_frames(1), 100)
    with pytest.raises(ValueError, match="max_frames"):
        read_frames(gradient_frames(1), 64, max_frames=0)
