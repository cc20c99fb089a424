"""The plugin through Ikomia's Workflow API, as Python users drive it."""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from conftest import REPO, SAMPLE
from modnet import cuda_available
from modnet.cpu_choice import cpu_runtimes

TASK = "infer_modnet_portrait_matting"
DEFAULTS = {
    "input_size": "512",
    "cuda": "False",
    "model_weight_file": "",
    "threshold": "0.5",
    "backend": "auto",
}


@pytest.fixture
def workflow(ikomia_workflow):
    return ikomia_workflow()


@pytest.fixture
def task(workflow, checkpoint: Path):
    task = workflow.add_task(name=TASK, public_hub=False, auto_connect=True)
    task.set_parameters({"model_weight_file": str(checkpoint)})
    return task


def process_module(task):
    return sys.modules[type(task).__module__]


def test_added_by_name_with_documented_defaults(workflow) -> None:
    task = workflow.add_task(name=TASK, public_hub=False)
    assert task.name == TASK
    assert task.get_parameters() == DEFAULTS


def test_outputs_on_an_array(workflow, task, sample_rgb: np.ndarray) -> None:
    image = sample_rgb.copy()
    workflow.run_on(array=image)
    assert np.array_equal(image, sample_rgb), "the input buffer was modified"
    assert task.get_output_count() == 4

    forwarded = task.get_output(0).get_image()
    matte = task.get_output(1).get_image()
    cutout = task.get_output(2).get_image()
    segmentation = task.get_output(3)

    assert np.array_equal(forwarded, sample_rgb)
    # The adapter adds nothing to the matte of the core session it loaded.
    expected = task._session.predict(sample_rgb).matte
    assert matte.dtype == np.uint8 and np.array_equal(matte, expected)
    assert cutout.shape == (*sample_rgb.shape[:2], 4) and cutout.dtype == np.uint8
    assert np.array_equal(cutout[..., :3], sample_rgb)
    assert np.array_equal(cutout[..., 3], expected)
    assert segmentation.get_class_names() == ["background", "person"]
    assert len(segmentation.get_colors()) == 2
    mask = segmentation.get_mask()
    assert np.array_equal(mask, (expected >= 128).astype(np.uint8))
    assert 0.05 < mask.mean() < 0.95, "a portrait should have both person and background"


def test_runs_on_an_image_path(workflow, task, sample_rgb: np.ndarray) -> None:
    workflow.run_on(path=str(SAMPLE))
    assert np.array_equal(task.get_output(0).get_image(), sample_rgb)
    assert task.get_output(1).get_image().shape == sample_rgb.shape[:2]


def test_threshold_and_input_size_take_effect(workflow, task, sample_rgb) -> None:
    task.set_parameters({"threshold": "0.9", "input_size": "256"})
    workflow.run_on(array=sample_rgb)
    expected = task._session.predict(sample_rgb, input_size=256).matte
    assert np.array_equal(task.get_output(1).get_image(), expected)
    assert np.array_equal(task.get_output(3).get_mask(), (expected >= 230).astype(np.uint8))


def test_grayscale_input(workflow, task, sample_rgb) -> None:
    gray = np.ascontiguousarray(cv2.cvtColor(sample_rgb, cv2.COLOR_RGB2GRAY))
    workflow.run_on(array=gray)
    assert task.get_output(1).get_image().shape == gray.shape
    assert np.array_equal(task.get_output(2).get_image()[..., 0], gray)


@pytest.mark.parametrize(
    ("name", "value", "accepted"),
    [
        ("input_size", "abc", "integer"),
        ("input_size", "100", "multiple of 32"),
        ("input_size", "0", "multiple of 32"),
        ("input_size", "-32", "multiple of 32"),
        ("input_size", "512.5", "integer"),
        ("threshold", "1.5", "[0, 1]"),
        ("threshold", "high", "number"),
        ("cuda", "maybe", "True or False"),
        ("backend", "tensorrt", "auto, torch, onnxruntime, openvino"),
        ("model_weight_file", "/no/such/modnet.ckpt", "no file at"),
    ],
)
def test_bad_parameter_is_refused_by_name(task, name: str, value: str, accepted: str) -> None:
    before = task.get_parameters()
    with pytest.raises(RuntimeError) as error:
        task.set_parameters({name: value})
    message = str(error.value)
    assert f"{name}:" in message and accepted in message
    assert task.get_parameters() == before


def test_model_loaded_once_and_reloaded_for_new_weights(
    workflow, task, sample_rgb, checkpoint: Path, tmp_path: Path
) -> None:
    workflow.run_on(array=sample_rgb)
    first = task._session
    task.set_parameters({"input_size": "320", "threshold": "0.3"})
    workflow.run_on(array=sample_rgb)
    assert task._session is first

    copy = shutil.copy(checkpoint, tmp_path / "copy.ckpt")
    task.set_parameters({"model_weight_file": str(copy)})
    workflow.run_on(array=sample_rgb)
    assert task._session is not first
    assert task._session.weights == Path(copy)


def test_cuda_without_gpu_warns_and_uses_cpu(workflow, task, sample_rgb, caplog) -> None:
    if cuda_available():
        pytest.skip("this check is for machines without a usable GPU")
    task.set_parameters({"cuda": "True"})
    with caplog.at_level(logging.WARNING):
        workflow.run_on(array=sample_rgb)
    assert any("cuda" in record.getMessage() for record in caplog.records)
    assert task._session.device == "cpu"
    assert task.get_output(1).get_image().shape == sample_rgb.shape[:2]


def test_default_weights_come_from_the_plugin_folder(
    workflow, sample_rgb, checkpoint: Path, tmp_path: Path, monkeypatch
) -> None:
    task = workflow.add_task(name=TASK, public_hub=False, auto_connect=True)
    shutil.copy(checkpoint, tmp_path / checkpoint.name)
    monkeypatch.setattr(process_module(task), "WEIGHTS_FOLDER", tmp_path)
    workflow.run_on(array=sample_rgb)
    assert task._session.weights == tmp_path / checkpoint.name


def test_chained_between_other_tasks(workflow, checkpoint: Path, sample_rgb) -> None:
    # An OpenCV resize feeds the matting task, whose matte feeds an OpenCV threshold.
    resize = workflow.add_task(name="ocv_resize", auto_connect=True)
    resize.set_parameters({"newWidth": "256", "newHeight": "192"})
    task = workflow.add_task(name=TASK, public_hub=False, auto_connect=True)
    task.set_parameters({"model_weight_file": str(checkpoint)})
    threshold = workflow.add_task(name="ocv_threshold")
    threshold.set_parameters({"threshold": "127", "thresholdType": "0"})
    workflow.connect_tasks(task, threshold, [(1, 0)])

    workflow.run_on(array=sample_rgb)

    resized = resize.get_output(0).get_image()
    matte = task.get_output(1).get_image()
    assert resized.shape == (192, 256, 3)
    assert np.array_equal(task.get_output(0).get_image(), resized)
    assert matte.shape == (192, 256)
    binary = threshold.get_output(0).get_image()
    assert np.array_equal(binary, np.where(matte > 127, 255, 0).astype(np.uint8))


def test_hub_test_contract(ikomia_workflow, task) -> None:
    from infer_modnet_portrait_matting.infer_modnet_portrait_matting_test import test

    outputs = test(task, {"images": {"detection": {"coco": str(SAMPLE)}}})
    assert outputs is not None
    assert task.get_output(1).get_image().shape == cv2.imread(str(SAMPLE)).shape[:2]


def test_backend_parameter_and_stage_timings(workflow, task, sample_rgb) -> None:
    workflow.run_on(array=sample_rgb)
    # auto on a CPU: the fastest runtime installed here.
    assert (task._session.backend, task._session.precision) in cpu_runtimes()
    assert set(task.timings) == {"preprocess", "forward", "postprocess", "outputs"}

    task.set_parameters({"backend": "onnxruntime"})
    workflow.run_on(array=sample_rgb)
    assert task._session.backend == "onnxruntime"
    onnx_matte = task.get_output(1).get_image()

    task.set_parameters({"backend": "torch"})
    workflow.run_on(array=sample_rgb)
    assert task._session.backend == "torch"
    difference = np.abs(task.get_output(1).get_image().astype(int) - onnx_matte)
    assert difference.max() <= 1


LIGHT_RUN = """
import json, sys
from pathlib import Path

import cv2
from plugin_env import import_workflow

home, cache, checkpoint, image = sys.argv[1:]
workflow = import_workflow(Path(home))()
task = workflow.add_task(name="infer_modnet_portrait_matting", public_hub=False, auto_connect=True)
sys.modules[type(task).__module__].WEIGHTS_FOLDER = Path(cache)
task.set_parameters({"model_weight_file": checkpoint})
workflow.run_on(array=cv2.imread(image)[..., ::-1].copy())
print(json.dumps({
    "torch_imported": "torch" in sys.modules,
    "backend": task._session.backend,
    "matte_shape": list(task.get_output(1).get_image().shape),
}))
"""


def test_cached_cpu_path_runs_without_importing_torch(checkpoint: Path, tmp_path: Path) -> None:
    # import torch alone takes ~700 MB of resident memory: the CPU path must not need it once
    # the export is cached.
    from modnet import MattingSession

    cache = tmp_path / "cache"
    first = MattingSession(checkpoint, cache_dir=cache)  # builds the export, as a first run does
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            LIGHT_RUN,
            str(tmp_path / "home"),
            str(cache),
            str(checkpoint),
            str(SAMPLE),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), str(REPO / "scripts")])},
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result == {"torch_imported": False, "backend": first.backend, "matte_shape": [512, 512]}
