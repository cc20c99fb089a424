"""The image background through Ikomia's Workflow API: the pixel limit, a file replaced under
the same modification time, and the decoded image let go when it is no longer the background."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest

from conftest import write_png_bomb
from modnet import replace_background

TASK = "infer_modnet_portrait_matting"


def write_rgb(path: Path, rgb: np.ndarray) -> Path:
    assert cv2.imwrite(str(path), rgb[..., ::-1])
    return path


def backdrop() -> np.ndarray:
    y, x = np.mgrid[:90, :240]
    return np.dstack((x, y * 2, np.full_like(x, 200))).astype(np.uint8)


def on_background(task, sample_rgb: np.ndarray, background: np.ndarray) -> np.ndarray:
    """The composite expected from the task's own matte and foreground on ``background``."""
    matte, foreground = task.get_output(1).get_image(), task.get_output(2).get_image()[..., :3]
    return replace_background(sample_rgb, foreground, matte, "image", background_image=background)


def test_a_background_bomb_is_refused_when_it_is_set(task, tmp_path: Path) -> None:
    bomb = write_png_bomb(tmp_path / "bomb.png", 12_000)

    with pytest.raises(ValueError, match="12000 x 12000 pixels, more than the 100 megapixels"):
        task.set_parameters({"background": "image", "background_image": str(bomb)})
    assert task.get_parameters()["background"] == "transparent"


def test_a_background_replaced_under_the_same_modification_time_is_read_again(
    workflow, task, sample_rgb, tmp_path: Path
) -> None:
    path = write_rgb(tmp_path / "backdrop.png", backdrop())
    task.set_parameters({"background": "image", "background_image": str(path)})
    workflow.run_on(array=sample_rgb)
    # Another file of the same size and times moved over it, as from an archive.
    inverted = 255 - backdrop()
    other = write_rgb(tmp_path / "inverted.png", inverted)
    shutil.copystat(path, other)
    os.replace(other, path)

    workflow.run_on(array=sample_rgb)

    composite = task.get_output(4).get_image()
    np.testing.assert_array_equal(composite, on_background(task, sample_rgb, inverted))


def test_the_decoded_background_is_let_go_when_the_background_changes(
    workflow, task, sample_rgb, tmp_path: Path
) -> None:
    path = write_rgb(tmp_path / "backdrop.png", backdrop())
    task.set_parameters({"background": "image", "background_image": str(path)})
    workflow.run_on(array=sample_rgb)
    assert task._backgrounds.image is not None

    task.set_parameters({"background": "color"})
    workflow.run_on(array=sample_rgb)

    assert task._backgrounds.image is None
