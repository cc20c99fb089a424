"""Parameter names and values as Ikomia passes them: from the API, saved workflows and Studio."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from conftest import SAMPLE

TASK = "infer_modnet_portrait_matting"


@pytest.fixture
def task(workflow):
    return workflow.add_task(name=TASK, public_hub=False, auto_connect=True)


@pytest.mark.parametrize("params", [{"inputsize": "256"}, {"input_size": "256", "Threshold": "1"}])
def test_unknown_name_is_refused_with_the_accepted_ones(task, params: dict[str, str]) -> None:
    before = task.get_parameters()
    # Both a ValueError and the RuntimeError that Ikomia raises for refused values.
    for caught in (ValueError, RuntimeError):
        with pytest.raises(caught) as error:
            task.set_parameters(params)
        message = str(error.value)
        assert "unknown parameter" in message
        assert all(name in message for name in before)
    assert task.get_parameters() == before


def test_unknown_name_through_the_workflow(workflow, task) -> None:
    with pytest.raises(ValueError, match="inputsize"):
        workflow.set_parameters({"inputsize": "256"}, task_obj=task)
    with pytest.raises(ValueError, match="inputsize"):
        workflow.set_parameters({"inputsize": "256"}, task_name=TASK)


def test_unknown_name_refused_by_the_parameter_object(task) -> None:
    param = task.get_param_object()
    with pytest.raises(ValueError, match="unknown parameter 'colour'"):
        param.set_values({**param.get_values(), "colour": "red"})


def test_saved_workflow_round_trip_and_stale_keys(workflow, task, tmp_path: Path) -> None:
    task.set_parameters({"input_size": "320", "threshold": "0.25"})
    path = tmp_path / "workflow.json"
    workflow.save(str(path))

    # A workflow saved by another version may carry a parameter this one does not have.
    saved = json.loads(path.read_text())
    (entry,) = [t for t in saved["tasks"] if t["task_data"]["name"] == TASK]
    entry["task_data"]["parameters"].append({"name": "update", "value": "False"})
    path.write_text(json.dumps(saved))

    loaded = type(workflow)()
    loaded.load(str(path))
    tasks = [loaded.get_task(task_id) for task_id in loaded.get_task_ids()]
    (restored,) = [loaded_task for loaded_task in tasks if loaded_task.name == TASK]
    # Ikomia's loader passes only the names the task has: the stale key cannot break the load.
    assert restored.get_parameters() == task.get_parameters()


def set_background_picture(task, folder: Path) -> Path:
    """Sets a copy of the sample in ``folder`` as the task's image background."""
    picture = folder / "beach.png"
    shutil.copy(SAMPLE, picture)
    task.set_parameters({"background": "image", "background_image": str(picture)})
    return picture


def test_a_file_gone_since_it_was_set_blocks_no_other_change(
    workflow, task, tmp_path: Path
) -> None:
    picture = set_background_picture(task, tmp_path)
    picture.unlink()

    # Ikomia passes every parameter to each call: the missing file is not checked again.
    task.set_parameters({"threshold": "0.4"})
    task.set_parameters({"background": "color"})

    assert task.get_parameters()["background"] == "color"
    with pytest.raises(ValueError, match="background_image: no file at"):
        task.set_parameters({"background": "image"})


def test_a_saved_workflow_loads_with_a_background_image_gone(
    workflow, task, tmp_path: Path
) -> None:
    picture = set_background_picture(task, tmp_path)
    task.set_parameters({"background": "transparent"})
    path = tmp_path / "workflow.json"
    workflow.save(str(path))
    picture.unlink()

    loaded = type(workflow)()
    loaded.load(str(path))

    tasks = [loaded.get_task(task_id) for task_id in loaded.get_task_ids()]
    (restored,) = [loaded_task for loaded_task in tasks if loaded_task.name == TASK]
    assert restored.get_parameters()["background_image"] == str(picture)


@pytest.mark.parametrize(
    ("picture", "message"),
    [
        (None, "background_image: required when background is 'image'"),
        ("notes.png", "background_image: .* is not an image file that OpenCV can read"),
        ("missing.png", "background_image: no file at"),
    ],
)
def test_an_image_background_needs_a_picture_at_once(
    task, tmp_path: Path, picture: str | None, message: str
) -> None:
    values = {"background": "image"}
    if picture is not None:
        if picture != "missing.png":
            (tmp_path / picture).write_text("not a picture")
        values["background_image"] = str(tmp_path / picture)
    before = task.get_parameters()

    with pytest.raises(ValueError, match=message):
        task.set_parameters(values)

    assert task.get_parameters() == before


def test_a_saved_workflow_whose_weights_are_gone_names_them_at_load(
    workflow, task, tmp_path: Path, checkpoint: Path
) -> None:
    weights = tmp_path / "mine.ckpt"
    weights.symlink_to(checkpoint)
    task.set_parameters({"model_weight_file": str(weights)})
    path = tmp_path / "workflow.json"
    workflow.save(str(path))
    weights.unlink()

    with pytest.raises(RuntimeError, match=f"model_weight_file: .*{weights}"):
        type(workflow)().load(str(path))


def test_a_relative_path_is_kept_as_the_file_it_named(
    task, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shutil.copy(SAMPLE, tmp_path / "beach.png")
    monkeypatch.chdir(tmp_path)

    task.set_parameters({"background": "image", "background_image": "beach.png"})
    monkeypatch.chdir(tmp_path.parent)

    assert task.get_parameters()["background_image"] == str(tmp_path / "beach.png")
