"""Backends and BatchNorm folding give the same matte as the reference PyTorch network."""

from __future__ import annotations

import importlib.util
import logging
import os
import shutil
import stat
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from torch import nn

from conftest import ONNX_MODEL
from modnet import (
    CheckpointError,
    MattingSession,
    NonFiniteOutputError,
    fold_batch_norms,
    load_checkpoint,
    network_size,
)
from modnet.network.layers import IBNorm
from modnet.runtime.cpu_choice import CHOICES_NAME, cpu_runtimes, machine_key, read_choices
from modnet.runtime.export import EXPORT_TOLERANCE, export_cache
from modnet.runtime.factory import check_backend, create_runner


def network_input(rgb: np.ndarray, input_size: int = 512) -> np.ndarray:
    height, width = network_size(*rgb.shape[:2], input_size)
    small = cv2.resize(rgb, (width, height), interpolation=cv2.INTER_AREA)
    return np.ascontiguousarray(small.transpose(2, 0, 1)[None], dtype=np.float32) / 127.5 - 1


@pytest.fixture(scope="module")
def reference(checkpoint: Path):
    return load_checkpoint(checkpoint)


@pytest.fixture
def weights_copy(checkpoint: Path, tmp_path: Path) -> Path:
    return Path(shutil.copy(checkpoint, tmp_path / checkpoint.name))


@pytest.fixture
def cache(tmp_path: Path) -> Path:
    return tmp_path / "cache"


def test_folding_keeps_the_alpha(reference, checkpoint: Path, sample_rgb: np.ndarray) -> None:
    folded = fold_batch_norms(load_checkpoint(checkpoint))
    assert not any(isinstance(m, nn.BatchNorm2d) for m in folded.modules())
    assert all(isinstance(m.bnorm, nn.Identity) for m in folded.modules() if isinstance(m, IBNorm))
    x = torch.from_numpy(network_input(sample_rgb))
    with torch.inference_mode():
        assert (folded(x) - reference(x)).abs().max() < EXPORT_TOLERANCE


def test_folding_twice_changes_nothing(checkpoint: Path) -> None:
    once = fold_batch_norms(load_checkpoint(checkpoint))
    before = {k: v.clone() for k, v in once.state_dict().items()}
    twice = fold_batch_norms(once)
    assert all(torch.equal(before[k], v) for k, v in twice.state_dict().items())


needs_openvino = pytest.mark.skipif(
    importlib.util.find_spec("openvino") is None, reason="OpenVINO is not installed"
)


@pytest.mark.parametrize(
    "name", ["torch", "onnxruntime", pytest.param("openvino", marks=needs_openvino)]
)
def test_each_backend_reproduces_the_reference_alpha(
    name: str, reference, weights_copy: Path, cache: Path, ppm100_pairs
) -> None:
    session = MattingSession(weights_copy, backend=name, cache_dir=cache, precision="fp32")
    assert (session.backend, session.precision) == (name, "fp32")
    for _, rgb, _ in ppm100_pairs:
        x = network_input(rgb)
        with torch.inference_mode():
            expected = reference(torch.from_numpy(x)).numpy()
        assert np.abs(session.network(x) - expected).max() < EXPORT_TOLERANCE


@pytest.mark.parametrize("name", ["onnxruntime", pytest.param("openvino", marks=needs_openvino)])
def test_backends_give_the_same_matte(
    name: str, weights_copy: Path, cache: Path, sample_rgb: np.ndarray
) -> None:
    torch_session = MattingSession(weights_copy, backend="torch")
    other = MattingSession(weights_copy, backend=name, cache_dir=cache, precision="fp32")
    # The quality modes combine passes with medians, sums and a guided filter, none of which
    # amplifies the backends' 1e-4 differences past a grey level.
    for input_size, quality in ((512, "fast"), (768, "fast"), (256, "high")):
        torch_matte = torch_session.predict(sample_rgb, input_size, quality=quality).matte
        other_matte = other.predict(sample_rgb, input_size, quality=quality).matte
        # 1e-4 apart before rounding to 1/255 steps: at most one grey level, on rare pixels.
        difference = np.abs(torch_matte.astype(int) - other_matte)
        assert difference.max() <= 1, (input_size, quality)
        assert (difference > 0).mean() < 1e-3, (input_size, quality)


def test_auto_on_the_cpu_is_the_fastest_checked_runtime(checkpoint: Path, cache: Path) -> None:
    # Which runtime wins depends on the machine; the choice is recorded for the next load.
    session = MattingSession(checkpoint, cache_dir=cache)
    assert (session.backend, session.precision) in cpu_runtimes()
    assert read_choices(cache / CHOICES_NAME) == {machine_key("auto"): session.backend}


def test_auto_on_a_gpu_is_torch_without_a_trial(checkpoint: Path, tmp_path, monkeypatch) -> None:
    class FakeTorchRunner:
        def __init__(self, model, device: str, precision: str) -> None:
            self.device = device

    def no_trial(*_args):
        raise AssertionError("auto timed the CPU runtimes for a GPU")

    monkeypatch.setattr("modnet.runtime.torch_runner.TorchRunner", FakeTorchRunner)
    monkeypatch.setattr("modnet.runtime.cpu_choice.fastest_cpu_runner", no_trial)
    monkeypatch.setattr("modnet.runtime.factory.load_model", lambda _weights: None)
    runner = create_runner("auto", checkpoint, "cuda", tmp_path)
    assert isinstance(runner, FakeTorchRunner) and runner.device == "cuda"


def test_unknown_backend_is_refused_by_name() -> None:
    with pytest.raises(
        ValueError, match=r"^backend: expected one of auto, torch, onnxruntime, openvino, got"
    ):
        check_backend("tensorrt")
    with pytest.raises(ValueError, match=r"^backend"):
        MattingSession(Path("unused.ckpt"), backend="tensorrt")


def cached_exports(cache: Path) -> list[Path]:
    return export_cache(cache).entries()


def test_export_is_cached(weights_copy: Path, cache: Path, caplog) -> None:
    with caplog.at_level(logging.INFO):
        MattingSession(weights_copy, backend="onnxruntime", cache_dir=cache)
    assert "Exporting" in caplog.text
    exports = cached_exports(cache)
    assert list(cache.iterdir()) == exports and len(exports) == 1
    content = exports[0].read_bytes()
    caplog.clear()

    with caplog.at_level(logging.INFO):
        MattingSession(weights_copy, backend="onnxruntime", cache_dir=cache)

    assert "Exporting" not in caplog.text, "the cached export was rebuilt"
    assert list(cache.iterdir()) == exports
    assert exports[0].read_bytes() == content


def test_cache_dir_expands_the_home_folder(
    weights_copy: Path, cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(cache.parent))
    monkeypatch.chdir(cache.parent)

    MattingSession(weights_copy, backend="onnxruntime", cache_dir=f"~/{cache.name}")

    assert len(cached_exports(cache)) == 1
    assert not (cache.parent / "~").exists()


@pytest.mark.parametrize("replacement", ["garbage", "another network"])
def test_replaced_cached_export_is_rebuilt_not_trusted(
    weights_copy: Path, cache: Path, sample_rgb, caplog, replacement: str
) -> None:
    MattingSession(weights_copy, backend="onnxruntime", cache_dir=cache)
    [path] = cached_exports(cache)
    # The MODNet authors' export loads and runs, but is not what was checked against PyTorch.
    content = b"not an onnx model" if replacement == "garbage" else ONNX_MODEL.read_bytes()
    path.write_bytes(content)

    with caplog.at_level(logging.WARNING):
        session = MattingSession(weights_copy, backend="onnxruntime", cache_dir=cache)

    assert "modified" in caplog.text
    [rebuilt] = cached_exports(cache)
    assert rebuilt.read_bytes() != content
    assert session.predict(sample_rgb).matte.shape == sample_rgb.shape[:2]


def test_export_of_other_weights_is_not_reused(weights_copy: Path, cache: Path) -> None:
    state = torch.load(weights_copy, weights_only=True)
    key = "module.f_branch.conv_f.1.layers.0.bias"
    state[key] = state[key] + 1.0
    other = weights_copy.with_name("other.ckpt")
    torch.save(state, other)
    assert export_cache(cache).key(other) != export_cache(cache).key(weights_copy)


def test_export_is_readable_by_other_users(weights_copy: Path, cache: Path) -> None:
    previous = os.umask(0o022)
    try:
        MattingSession(weights_copy, backend="onnxruntime", cache_dir=cache)
    finally:
        os.umask(previous)
    [path] = cached_exports(cache)
    assert stat.S_IMODE(path.stat().st_mode) == 0o644


def test_unwritable_cache(weights_copy: Path, tmp_path: Path, caplog) -> None:
    # A cache folder below a regular file cannot be created, whoever runs the tests.
    blocker = tmp_path / "file"
    blocker.write_bytes(b"")
    with caplog.at_level(logging.WARNING):
        session = MattingSession(weights_copy, backend="auto", cache_dir=blocker / "cache")
    assert session.backend == "torch"
    assert any("using PyTorch" in r.getMessage() for r in caplog.records)
    with pytest.raises(OSError) as raised:
        MattingSession(weights_copy, backend="onnxruntime", cache_dir=blocker / "cache")
    message = str(raised.value)
    assert f"no ONNX export of {weights_copy} in {blocker / 'cache'}" in message
    assert "writable" in message and "'torch'" in message
    assert ".part" not in message


def unfit_weights(weights: Path, key: str, change) -> Path:
    state = torch.load(weights, weights_only=True)
    state[key] = change(state[key])
    path = weights.with_name("unfit.ckpt")
    torch.save(state, path)
    return path


@pytest.mark.parametrize("backend", ["auto", "torch", "onnxruntime"])
def test_non_finite_weights_are_refused_by_file_name(
    weights_copy: Path, cache: Path, backend: str
) -> None:
    key = "module.f_branch.conv_f.1.layers.0.weight"
    path = unfit_weights(
        weights_copy, key, lambda tensor: tensor.index_fill(0, torch.tensor([0]), float("nan"))
    )

    with pytest.raises(CheckpointError) as raised:
        MattingSession(path, backend=backend, cache_dir=cache)

    assert str(path) in str(raised.value) and "NaN" in str(raised.value)
    assert not cache.exists() or not any(cache.iterdir()), "an export was cached"


# Finite, but large enough to overflow inside the fusion branch: the output is NaN.
OVERFLOWING = ("module.f_branch.conv_f.0.layers.0.weight", lambda tensor: tensor * 1e38)


def test_non_finite_output_is_an_error_naming_the_weights(
    weights_copy: Path, cache: Path, sample_rgb: np.ndarray
) -> None:
    path = unfit_weights(weights_copy, *OVERFLOWING)
    session = MattingSession(path, backend="torch")

    with pytest.raises(NonFiniteOutputError) as raised:
        session.predict(sample_rgb, input_size=256)
    assert str(path) in str(raised.value)

    with pytest.raises(NonFiniteOutputError) as raised:
        MattingSession(path, backend="onnxruntime", cache_dir=cache)
    assert str(path) in str(raised.value)
    assert not cache.exists() or not any(cache.iterdir()), "an export was cached"


@pytest.mark.parametrize("quality", ["fast", "high"])
def test_predict_reports_stage_timings(session, sample_rgb: np.ndarray, quality: str) -> None:
    timings: dict[str, float] = {}
    session.predict(sample_rgb, timings=timings, quality=quality)
    assert set(timings) == {"preprocess", "forward", "postprocess"}
    assert all(t > 0 for t in timings.values())
    assert timings["forward"] > timings["preprocess"]


def test_auto_falls_back_to_torch_without_the_exporter(
    weights_copy: Path, cache: Path, monkeypatch, caplog
) -> None:
    monkeypatch.setitem(sys.modules, "onnx", None)  # as if the onnx package were not installed
    with caplog.at_level(logging.WARNING):
        session = MattingSession(weights_copy, backend="auto", cache_dir=cache)
    assert session.backend == "torch"
    assert any("using PyTorch" in r.getMessage() for r in caplog.records)
    with pytest.raises(RuntimeError):
        MattingSession(weights_copy, backend="onnxruntime", cache_dir=cache)
    assert not cache.exists() or not any(cache.iterdir()), "a failed export left files"


def test_arena_is_shrunk_only_after_a_change_of_size(checkpoint: Path, cache: Path) -> None:
    runner = MattingSession(checkpoint, backend="onnxruntime", cache_dir=cache).network
    runner.last_pixels = 0
    shrunk = []

    class Recorder:
        def run(self, outputs, inputs, options):
            shrunk.append(options is runner.shrink)
            return [None]

    runner.session = Recorder()
    # Ordinary proportions at one input size, an unusual image, then ordinary ones again.
    for height, width in [(512, 768), (768, 512), (512, 512), (192, 10240), (512, 768), (512, 768)]:
        runner(np.zeros((1, 3, height, width), np.float32))

    assert shrunk == [True, False, False, True, True, False]
