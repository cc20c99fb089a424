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
from modnet import cuda_available, estimate_foreground, over_color, replace_background
from modnet.runtime.cpu_choice import cpu_runtimes

TASK = "infer_modnet_portrait_matting"
DEFAULTS = {
    "input_size": "512",
    "quality": "fast",
    "cuda": "False",
    "model_weight_file": "",
    "threshold": "0.5",
    "backend": "auto",
    "precision": "auto",
    "foreground": "estimated",
    "background": "transparent",
    "background_color": "255,255,255",
    "blur_strength": "1.5",
    "background_image": "",
    "temporal": "auto",
}


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
    assert task.get_output_count() == 5

    forwarded = task.get_output(0).get_image()
    matte = task.get_output(1).get_image()
    cutout = task.get_output(2).get_image()
    segmentation = task.get_output(3)
    composite = task.get_output(4).get_image()

    assert np.array_equal(forwarded, sample_rgb)
    # The adapter adds nothing to the matte of the core session it loaded.
    expected = task._session.predict(sample_rgb).matte
    assert matte.dtype == np.uint8 and np.array_equal(matte, expected)
    # By default the cutout carries the estimated foreground colours.
    foreground = estimate_foreground(sample_rgb, expected)
    assert cutout.shape == (*sample_rgb.shape[:2], 4) and cutout.dtype == np.uint8
    assert np.array_equal(cutout[..., :3], foreground)
    assert not np.array_equal(foreground, sample_rgb)
    assert np.array_equal(cutout[..., 3], expected)
    # The default background is transparent: the RGB composite is the cutout over black.
    assert composite.shape == sample_rgb.shape and composite.dtype == np.uint8
    assert np.array_equal(composite, over_color(foreground, expected, (0, 0, 0)))
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


def test_quality_takes_effect(workflow, task, sample_rgb) -> None:
    task.set_parameters({"quality": "high", "input_size": "256"})
    workflow.run_on(array=sample_rgb)
    expected = task._session.predict(sample_rgb, input_size=256, quality="high").matte
    assert np.array_equal(task.get_output(1).get_image(), expected)
    fast = task._session.predict(sample_rgb, input_size=256).matte
    assert np.count_nonzero(expected != fast) > 0.01 * fast.size


def test_grayscale_input(workflow, task, sample_rgb) -> None:
    gray = np.ascontiguousarray(cv2.cvtColor(sample_rgb, cv2.COLOR_RGB2GRAY))
    workflow.run_on(array=gray)
    assert task.get_output(1).get_image().shape == gray.shape
    cutout = task.get_output(2).get_image()
    # The estimated colours of a grey photo stay grey.
    assert np.array_equal(cutout[..., 0], cutout[..., 1])
    assert np.array_equal(cutout[..., 0], cutout[..., 2])
    task.set_parameters({"foreground": "raw"})
    workflow.run_on(array=gray)
    assert np.array_equal(task.get_output(2).get_image()[..., 0], gray)


@pytest.mark.parametrize(
    ("name", "value", "accepted"),
    [
        ("input_size", "abc", "integer"),
        ("input_size", "100", "multiple of 32"),
        ("input_size", "0", "multiple of 32"),
        ("input_size", "-32", "multiple of 32"),
        ("input_size", "512.5", "integer"),
        ("input_size", "1056", "from 32 to 1024"),
        ("input_size", "99968", "from 32 to 1024"),
        ("quality", "best", "fast, high"),
        ("quality", "High", "fast, high"),
        ("threshold", "1.5", "[0, 1]"),
        ("threshold", "high", "number"),
        ("cuda", "maybe", "True or False"),
        ("backend", "tensorrt", "auto, torch, onnxruntime, openvino"),
        ("precision", "fp8", "auto, fp32, bf16, fp16, int8"),
        ("model_weight_file", "/no/such/modnet.ckpt", "no file at"),
        ("foreground", "pymatting", "raw, estimated"),
        ("background", "green", "transparent, color, blur, image"),
        ("background_color", "255,255", "three integers in [0, 255] as R,G,B"),
        ("background_color", "0,0,256", "three integers in [0, 255] as R,G,B"),
        ("background_color", "white", "three integers in [0, 255] as R,G,B"),
        ("background_color", "1_0,2,3", "three integers in [0, 255] as R,G,B"),
        ("blur_strength", "1_5", "expected a number, got '1_5'"),
        ("input_size", "5_12", "integer"),
        ("blur_strength", "0", "(0, 10]"),
        ("blur_strength", "strong", "number"),
        ("temporal", "smooth", "auto, none, ofd, stable"),
    ],
)
def test_bad_parameter_is_refused_by_name(task, name: str, value: str, accepted: str) -> None:
    before = task.get_parameters()
    with pytest.raises(RuntimeError) as error:
        task.set_parameters({name: value})
    message = str(error.value)
    assert f"{name}:" in message and accepted in message
    assert isinstance(error.value, ValueError)  # what Python code catches for a bad argument
    assert task.get_parameters() == before


@pytest.mark.parametrize("content", ["text", "random bytes", "another network"])
def test_unfit_weight_file_is_refused_at_once(
    task, tmp_path: Path, checkpoint: Path, content: str
) -> None:
    path = tmp_path / "weights.ckpt"
    if content == "text":
        path.write_text("weights\n")
    elif content == "random bytes":
        path.write_bytes(np.random.default_rng(0).bytes(10_000))
    else:
        import torch

        torch.save({"conv.weight": torch.zeros(8, 3, 3, 3)}, path)
    before = task.get_parameters()

    with pytest.raises(RuntimeError) as error:
        task.set_parameters({"model_weight_file": str(path)})

    assert "model_weight_file:" in str(error.value) and str(path) in str(error.value)
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
    assert set(task.timings) == {
        "preprocess",
        "forward",
        "postprocess",
        "temporal",
        "foreground",
        "outputs",
    }

    task.set_parameters({"backend": "onnxruntime"})
    workflow.run_on(array=sample_rgb)
    assert task._session.backend == "onnxruntime"
    onnx_matte = task.get_output(1).get_image()

    task.set_parameters({"backend": "torch"})
    workflow.run_on(array=sample_rgb)
    assert task._session.backend == "torch"
    difference = np.abs(task.get_output(1).get_image().astype(int) - onnx_matte)
    assert difference.max() <= 1


@pytest.mark.parametrize(("backend", "precision"), cpu_runtimes())
def test_precision_parameter_reaches_the_session(
    workflow, task, sample_rgb, backend: str, precision: str
) -> None:
    task.set_parameters({"backend": backend, "precision": precision})
    workflow.run_on(array=sample_rgb)
    assert (task._session.backend, task._session.precision) == (backend, precision)


def test_int8_parameter_reaches_the_session(workflow, task, sample_rgb) -> None:
    # Never chosen by auto: only asked for.
    task.set_parameters({"precision": "int8"})
    workflow.run_on(array=sample_rgb)
    assert (task._session.backend, task._session.precision) == ("onnxruntime", "int8")


def test_bf16_on_a_float32_backend_is_refused_at_run(workflow, task, sample_rgb) -> None:
    task.set_parameters({"backend": "onnxruntime", "precision": "bf16"})
    with pytest.raises(
        (RuntimeError, ValueError), match="precision: bf16 runs on the openvino backend only"
    ):
        workflow.run_on(array=sample_rgb)


def test_fp16_without_a_gpu_is_refused_at_run(workflow, task, sample_rgb) -> None:
    task.set_parameters({"cuda": "False", "precision": "fp16"})
    with pytest.raises((RuntimeError, ValueError), match="precision: fp16 runs on a CUDA GPU"):
        workflow.run_on(array=sample_rgb)


def test_int8_on_openvino_is_refused_at_run(workflow, task, sample_rgb) -> None:
    task.set_parameters({"backend": "openvino", "precision": "int8"})
    with pytest.raises(
        (RuntimeError, ValueError), match="precision: int8 runs on the onnxruntime backend"
    ):
        workflow.run_on(array=sample_rgb)


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
        env={
            **os.environ,
            "PYTHONPATH": os.pathsep.join([str(REPO), str(REPO / "scripts" / "benchmarks")]),
        },
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result == {"torch_imported": False, "backend": first.backend, "matte_shape": [512, 512]}


# --- foreground colours and backgrounds ---------------------------------------------------------


@pytest.fixture(scope="module")
def plugin_session(checkpoint: Path):
    """The core session the task loads with default parameters: same weights, cache folder (so
    the same runtime chosen by auto) and precision."""
    from modnet import MattingSession

    return MattingSession(checkpoint, cache_dir=REPO / "weights")


@pytest.fixture(scope="module")
def layers(plugin_session, sample_rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The sample's matte and estimated foreground, from the core."""
    matte = plugin_session.predict(sample_rgb).matte
    return matte, estimate_foreground(sample_rgb, matte)


@pytest.fixture
def backdrop_file(tmp_path: Path) -> tuple[Path, np.ndarray]:
    """A wide RGB picture on disk, unlike the sample in size, shape and colours."""
    y, x = np.mgrid[:90, :240]
    rgb = np.dstack((x, y * 2, np.full_like(x, 200))).astype(np.uint8)
    path = tmp_path / "backdrop.png"
    assert cv2.imwrite(str(path), rgb[..., ::-1])
    return path, rgb


def test_raw_foreground_keeps_the_photo(workflow, task, sample_rgb, layers) -> None:
    task.set_parameters({"foreground": "raw"})
    workflow.run_on(array=sample_rgb)

    cutout = task.get_output(2).get_image()
    np.testing.assert_array_equal(cutout[..., :3], sample_rgb)
    np.testing.assert_array_equal(cutout[..., 3], layers[0])


@pytest.mark.parametrize("background", ["color", "blur"])
def test_composite_is_the_core_composite(
    workflow, task, sample_rgb, layers, background: str
) -> None:
    task.set_parameters(
        {"background": background, "background_color": "40, 110, 220", "blur_strength": "3"}
    )
    workflow.run_on(array=sample_rgb)

    matte, foreground = layers
    expected = replace_background(sample_rgb, foreground, matte, background, (40, 110, 220), 3.0)
    np.testing.assert_array_equal(task.get_output(4).get_image(), expected)
    # The cutout keeps its alpha whatever the background.
    np.testing.assert_array_equal(task.get_output(2).get_image()[..., 3], matte)


def test_raw_colours_reach_the_composite(workflow, task, sample_rgb, layers) -> None:
    task.set_parameters({"foreground": "raw", "background": "color", "background_color": "0,0,0"})
    workflow.run_on(array=sample_rgb)

    matte = layers[0]
    expected = replace_background(sample_rgb, sample_rgb, matte, "color", (0, 0, 0))
    np.testing.assert_array_equal(task.get_output(4).get_image(), expected)


def test_image_background_comes_from_the_file_not_the_input(
    workflow, task, sample_rgb, layers, backdrop_file
) -> None:
    # run_on(path=...) feeds every image input the task has: the background must not be one.
    path, backdrop = backdrop_file
    task.set_parameters({"background": "image", "background_image": str(path)})
    inputs = [task.get_input(index) for index in range(task.get_input_count())]
    assert [type(item).__name__ for item in inputs].count("CImageIO") == 1

    workflow.run_on(path=str(SAMPLE))

    matte, foreground = layers
    expected = replace_background(sample_rgb, foreground, matte, "image", background_image=backdrop)
    composite = task.get_output(4).get_image()
    np.testing.assert_array_equal(composite, expected)
    assert np.abs(composite[matte == 0].astype(int) - sample_rgb[matte == 0]).mean() > 30


def test_a_changed_background_file_is_read_again(
    workflow, task, sample_rgb, layers, backdrop_file
) -> None:
    path, backdrop = backdrop_file
    task.set_parameters({"background": "image", "background_image": str(path)})
    workflow.run_on(array=sample_rgb)
    inverted = 255 - backdrop
    assert cv2.imwrite(str(path), inverted[..., ::-1])
    stat = path.stat()
    # A new modification time even on file systems with coarse timestamps.
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))

    workflow.run_on(array=sample_rgb)

    matte, foreground = layers
    expected = replace_background(sample_rgb, foreground, matte, "image", background_image=inverted)
    np.testing.assert_array_equal(task.get_output(4).get_image(), expected)


def test_a_run_names_a_background_image_gone_since_it_was_set(
    workflow, task, sample_rgb, tmp_path: Path
) -> None:
    picture = tmp_path / "beach.png"
    picture.write_bytes(SAMPLE.read_bytes())
    task.set_parameters({"background": "image", "background_image": str(picture)})
    picture.unlink()

    with pytest.raises((RuntimeError, ValueError), match="background_image: no file at"):
        workflow.run_on(array=sample_rgb)


def test_background_color_reads_back_as_r_g_b(task) -> None:
    task.set_parameters({"background_color": " (1, 2,3) "})

    assert task.get_parameters()["background_color"] == "1,2,3"
