"""What Studio shows and what Ikomia saves: the mask overlay, transparent PNG cutouts."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from conftest import SAMPLE
from modnet import estimate_foreground, over_color

TASK = "infer_modnet_portrait_matting"


@pytest.fixture
def workflow(ikomia_workflow):
    return ikomia_workflow()


@pytest.fixture
def task(workflow, checkpoint: Path):
    task = workflow.add_task(name=TASK, public_hub=False, auto_connect=True)
    task.set_parameters({"model_weight_file": str(checkpoint)})
    return task


def read_unchanged(path: Path) -> np.ndarray:
    image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    assert image is not None, f"cannot read {path}"
    return image


def test_studio_overlay_colours_the_person_on_the_image(workflow, task) -> None:
    workflow.run_on(path=str(SAMPLE))
    image = task.get_output(0)
    # Ikomia builds the overlay that Studio draws from set_output_color_map at the end of run().
    assert image.is_overlay_available()
    overlay = image.get_overlay_mask()
    person = task.get_output(3).get_mask() == 1
    assert overlay.shape == (*person.shape, 4)
    assert np.all(overlay[person] == [255, 64, 128, 255])
    assert np.all(overlay[~person] == 0), "the background must stay clear"


def test_manual_save_keeps_alpha_and_one_channel_matte(workflow, task, tmp_path: Path) -> None:
    workflow.run_on(path=str(SAMPLE))
    cutout, matte = task.get_output(2).get_image(), task.get_output(1).get_image()
    task.get_output(2).save(str(tmp_path / "cutout.png"))
    task.get_output(1).save(str(tmp_path / "matte.png"))

    saved_cutout = read_unchanged(tmp_path / "cutout.png")
    assert np.array_equal(cv2.cvtColor(saved_cutout, cv2.COLOR_BGRA2RGBA), cutout)
    assert np.array_equal(read_unchanged(tmp_path / "matte.png"), matte)


def test_folder_run_auto_saves_transparent_cutouts(
    ikomia_workflow, checkpoint: Path, ppm100_pairs, sample_rgb, tmp_path: Path
) -> None:
    photos = {"astronaut": sample_rgb}
    for stem, rgb, _ in ppm100_pairs[:2]:
        photos[stem] = cv2.resize(rgb, (rgb.shape[1] // 4, rgb.shape[0] // 4))
    folder = tmp_path / "photos"
    folder.mkdir()
    for stem, rgb in photos.items():
        cv2.imwrite(str(folder / f"{stem}.png"), rgb[..., ::-1])

    # A fresh workflow, as a user starts one for a folder.
    workflow = ikomia_workflow()
    task = workflow.add_task(name=TASK, public_hub=False, auto_connect=True)
    task.set_parameters({"model_weight_file": str(checkpoint)})
    workflow.set_output_folder(str(tmp_path / "out"))
    workflow.run_on(folder=str(folder))

    saved = list((tmp_path / "out").rglob("*.png"))
    for stem, rgb in photos.items():
        (cutout_path,) = [path for path in saved if path.name.endswith(f"{stem}_cutout.png")]
        (matte_path,) = [path for path in saved if path.name.endswith(f"{stem}_matte.png")]
        (composite_path,) = [p for p in saved if p.name.endswith(f"{stem}_composite.png")]
        matte = task._session.predict(rgb).matte  # the session the run used
        foreground = estimate_foreground(rgb, matte)
        cutout = cv2.cvtColor(read_unchanged(cutout_path), cv2.COLOR_BGRA2RGBA)
        assert np.array_equal(cutout[..., :3], foreground)
        assert np.array_equal(cutout[..., 3], matte)
        assert 0.05 < (cutout[..., 3] > 127).mean() < 0.95, f"{stem}: not a portrait cutout"
        saved_matte = read_unchanged(matte_path)
        assert saved_matte.ndim == 2
        assert np.array_equal(saved_matte, cutout[..., 3])
        composite = cv2.cvtColor(read_unchanged(composite_path), cv2.COLOR_BGR2RGB)
        assert np.array_equal(composite, over_color(foreground, matte, (0, 0, 0)))
