"""What Studio shows and what Ikomia saves: the mask overlay, transparent PNG cutouts."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from conftest import SAMPLE
from modnet import estimate_foreground, over_color

OVERLAY_COLOR = [255, 64, 128]  # the person's class colour in the plugin

TASK = "infer_modnet_portrait_matting"


def read_unchanged(path: Path) -> np.ndarray:
    image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    assert image is not None, f"cannot read {path}"
    return image


def test_studio_overlay_colours_the_person_on_the_image(workflow, task) -> None:
    workflow.run_on(path=str(SAMPLE))
    image = task.get_output(0)
    assert image.is_overlay_available()
    overlay = image.get_overlay_mask().copy()
    person = task.get_output(3).get_mask() == 1
    assert overlay.shape == (*person.shape, 4)
    assert np.all(overlay[person] == [255, 64, 128, 255])
    assert np.all(overlay[~person] == 0), "the background must stay clear"
    # The task makes the overlay itself: the same that Ikomia builds from a colour map at the
    # end of a run, which would take a second at 24 MP.
    task.set_output_color_map(0, 3, [OVERLAY_COLOR], True)
    task.end_task_run()
    np.testing.assert_array_equal(image.get_overlay_mask(), overlay)


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


@pytest.mark.parametrize("index, name", [(1, "matte"), (2, "cutout"), (4, "composite")])
def test_saving_an_output_before_any_run_names_it(task, tmp_path: Path, index, name) -> None:
    with pytest.raises(ValueError, match=f"output {index} \\({name}\\) has no image yet"):
        task.get_output(index).save(str(tmp_path / "x.png"))
    assert not (tmp_path / "x.png").exists()


def test_saving_after_a_run_that_failed_names_the_output(
    workflow, tmp_path: Path, sample_rgb
) -> None:
    task = workflow.add_task(name=TASK, public_hub=False, auto_connect=True)
    damaged = tmp_path / "not_weights.ckpt"
    damaged.write_bytes(b"PK\x03\x04" + bytes(100))
    # Set past the parameter check, as a file damaged after it was chosen would be.
    task.get_param_object().model_weight_file = str(damaged)
    with pytest.raises((RuntimeError, ValueError)):
        workflow.run_on(array=sample_rgb)

    with pytest.raises(ValueError, match="output 2 \\(cutout\\) has no image yet"):
        task.get_output(2).save(str(tmp_path / "cutout.png"))


def test_a_path_without_extension_lists_the_formats(workflow, task, tmp_path: Path) -> None:
    workflow.run_on(path=str(SAMPLE))

    with pytest.raises(ValueError, match=r"output 1 \(matte\): .*'x'.* \.png, \.jpg"):
        task.get_output(1).save(str(tmp_path / "x"))


@pytest.mark.parametrize("extension", [".jpg", ".ras"])
def test_a_cutout_saved_without_alpha_is_written_over_black_with_a_warning(
    workflow, task, tmp_path: Path, caplog: pytest.LogCaptureFixture, extension: str
) -> None:
    workflow.run_on(path=str(SAMPLE))
    cutout = task.get_output(2).get_image()
    path = tmp_path / f"cutout{extension}"

    with caplog.at_level("WARNING"):
        task.get_output(2).save(str(path))

    assert any(
        "output 2 (cutout)" in record.message and "cannot hold alpha" in record.message
        for record in caplog.records
    ), caplog.text
    saved = cv2.cvtColor(read_unchanged(path), cv2.COLOR_BGR2RGB)
    over_black = over_color(cutout[..., :3], cutout[..., 3], (0, 0, 0))
    # Lossy formats: the written image is the cutout over black, not its colours alone.
    error_over_black = np.abs(saved.astype(int) - over_black).mean()
    error_colours_alone = np.abs(saved.astype(int) - cutout[..., :3]).mean()
    assert error_over_black < 3 < error_colours_alone
