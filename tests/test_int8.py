"""precision int8: a static INT8 model calibrated on the shipped samples only, built once per
checkpoint and cached, close to float32 at the default input size, offered on ONNX Runtime on
the CPU only, and never chosen by auto."""

from __future__ import annotations

import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest

from conftest import CHECKPOINT
from modnet import MattingSession, check_precision
from modnet.batch.cli import build_parser, options_from
from modnet.image import network_size
from modnet.runtime import calibration, cpu_choice, int8
from modnet.runtime.calibration import CALIBRATION_IMAGES, calibration_images, calibration_inputs
from modnet.runtime.cpu_choice import RUNTIMES
from modnet.runtime.export import BACKBONE_SCOPE
from modnet.runtime.int8 import int8_cache, int8_runner


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("int8-cache")


@pytest.fixture(scope="module")
def built(cache: Path):
    """The INT8 runner of the shared checkpoint, quantized once for this module."""
    return int8_runner(CHECKPOINT, cache)


def test_calibration_reads_the_shipped_samples_only(tmp_path: Path) -> None:
    assert Path(__file__).resolve().parents[1] / "samples" == calibration.SAMPLES
    # A samples folder of its own: a grey photo and a clip of uniform frames.
    photo = np.full((60, 80, 3), 100, np.uint8)
    cv2.imwrite(str(tmp_path / calibration.PHOTO), photo)
    writer = cv2.VideoWriter(
        str(tmp_path / calibration.CLIP), cv2.VideoWriter_fourcc(*"mp4v"), 10, (64, 48)
    )
    for level in range(0, 200, 10):
        writer.write(np.full((48, 64, 3), level, np.uint8))
    writer.release()
    images = list(calibration_images(tmp_path, count=20))
    assert len(images) == 20
    np.testing.assert_array_equal(images[0], photo)
    levels = [int(image.mean().round()) for image in images[1 : 1 + calibration.CLIP_FRAMES]]
    assert levels == sorted(levels) and levels[0] < 10 and levels[-1] > 180  # spread over the clip
    crops = images[1 + calibration.CLIP_FRAMES :]
    assert all(image.shape[0] < 60 and image.shape[1] < 80 for image in crops)  # crops only


def test_calibration_is_deterministic_and_prepared_as_the_session_prepares() -> None:
    first, again = list(calibration_images()), list(calibration_images())
    assert len(first) == CALIBRATION_IMAGES
    assert all(np.array_equal(a, b) for a, b in zip(first, again, strict=True))
    inputs = calibration_inputs()
    for rgb, x in zip(first, inputs, strict=True):
        assert x.shape == (1, 3, *network_size(*rgb.shape[:2], calibration.INPUT_SIZE))
        assert x.dtype == np.float32 and x.min() >= -1.0 and x.max() <= 1.0


def test_the_model_is_built_once_and_reused(built, cache: Path, monkeypatch) -> None:
    assert (built.name, built.precision) == ("onnxruntime", "int8")
    entries = int8_cache(cache).entries()
    assert len(entries) == 1

    def no_quantization(*_args) -> None:
        raise AssertionError("the cached model was quantized again")

    monkeypatch.setattr(int8, "quantize", no_quantization)
    monkeypatch.setattr(int8, "onnx_runner", no_quantization)  # no float32 export needed either
    again = int8_runner(CHECKPOINT, cache)
    assert again.precision == "int8" and int8_cache(cache).entries() == entries


def test_the_backbone_weights_stay_float32(built, cache: Path) -> None:
    import onnx

    graph = onnx.load(str(int8_cache(cache).entries()[0])).graph
    quantized = {out for n in graph.node if n.op_type == "DequantizeLinear" for out in n.output}
    convs = [n for n in graph.node if n.op_type == "Conv"]
    backbone = [n for n in convs if n.name.startswith(BACKBONE_SCOPE)]
    heads = [n for n in convs if not n.name.startswith(BACKBONE_SCOPE)]
    assert backbone and heads
    # Its weights stay float32; the tensors it shares with the heads (the input, the features
    # the detail branch reads) reach it rounded as the heads read them.
    assert not any(n.input[1] in quantized for n in backbone)
    assert all(n.input[1] in quantized for n in heads)


def test_a_modified_model_is_rebuilt(built, cache: Path, tmp_path: Path) -> None:
    copy = Path(shutil.copytree(cache, tmp_path / "cache"))
    entry = int8_cache(copy).entries()[0]
    entry.write_bytes(entry.read_bytes()[:1000])
    runner = int8_runner(CHECKPOINT, copy)
    assert runner.precision == "int8"
    assert int8_cache(copy).entries()[0].stat().st_size == entry.stat().st_size > 1000


def test_int8_mattes_are_close_to_float32(built, cache: Path, sample_rgb: np.ndarray) -> None:
    fp32 = MattingSession(CHECKPOINT, backend="onnxruntime", cache_dir=cache, precision="fp32")
    session = MattingSession(CHECKPOINT, cache_dir=cache, precision="int8")
    assert (session.backend, session.precision) == ("onnxruntime", "int8")
    # Measured on the sample against float32: at 512 and 768, a mean change of 1.1 grey levels,
    # 1.1% of the pixels by more than 16, a few by up to 246 (calibrated at 512; at 256 the mean
    # change was 5.9 levels). A broken model moves the whole matte.
    for input_size in (512, 768):
        difference = np.abs(
            fp32.predict(sample_rgb, input_size).matte.astype(int)
            - session.predict(sample_rgb, input_size).matte
        )
        assert difference.mean() < 2.0, input_size
        assert (difference > 16).mean() < 0.02, input_size


@pytest.mark.parametrize("backend", ["torch", "openvino"])
def test_int8_is_refused_with_the_other_backends(backend: str) -> None:
    message = r"^precision: int8 runs on the onnxruntime backend on the CPU only"
    with pytest.raises(ValueError, match=message):
        check_precision("int8", backend)
    with pytest.raises(ValueError, match=message):
        MattingSession(Path("missing.ckpt"), backend=backend, precision="int8")


@pytest.mark.parametrize("backend", ["auto", "onnxruntime"])
def test_int8_is_refused_on_a_gpu(backend: str) -> None:
    assert check_precision("int8", backend) == "int8"
    with pytest.raises(ValueError, match=r"^precision: int8 runs on the CPU only"):
        MattingSession(Path("missing.ckpt"), device="cuda", backend=backend, precision="int8")


def test_the_batch_runner_accepts_int8() -> None:
    parser = build_parser()
    weights = ["--model-weight-file", str(CHECKPOINT)]
    options = options_from(parser.parse_args(["in", "out", *weights, "--precision", "int8"]))
    assert options.precision == "int8"
    arguments = parser.parse_args(
        ["in", "out", *weights, "--backend", "torch", "--precision", "int8"]
    )
    with pytest.raises(ValueError, match=r"^precision: int8 runs on the onnxruntime backend"):
        options_from(arguments)


def test_auto_never_chooses_int8(monkeypatch) -> None:
    # Not even on a CPU without bfloat16, where it could be faster (see modnet.runtime.precision).
    monkeypatch.setattr("modnet.runtime.openvino_runner.native_bf16", lambda _core: False)
    assert set(cpu_choice.candidates(CHECKPOINT, Path("unused"), "auto")) <= set(RUNTIMES)
    assert "int8" not in {precision for _, precision in cpu_choice.cpu_runtimes()}
