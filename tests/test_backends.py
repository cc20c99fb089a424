"""Backends and BatchNorm folding give the same matte as the reference PyTorch network."""

from __future__ import annotations

import copy
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
from modnet.backends import EXPORT_TOLERANCE, check_backend, export_cache, resolve_backend
from modnet.layers import IBNorm


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


@pytest.mark.parametrize("name", ["torch", "onnxruntime"])
def test_each_backend_reproduces_the_reference_alpha(
    name: str, reference, weights_copy: Path, cache: Path, ppm100_pairs
) -> None:
    session = MattingSession(weights_copy, backend=name, cache_dir=cache)
    assert session.backend == name
    for _, rgb, _ in ppm100_pairs:
        x = network_input(rgb)
        with torch.inference_mode():
            expected = reference(torch.from_numpy(x)).numpy()
        assert np.abs(session.network(x) - expected).max() < EXPORT_TOLERANCE


def test_backends_give_the_same_matte(
    weights_copy: Path, cache: Path, sample_rgb: np.ndarray
) -> None:
    torch_session = MattingSession(weights_copy, backend="torch")
    onnx_session = MattingSession(weights_copy, backend="onnxruntime", cache_dir=cache)
    # The quality modes combine passes with medians, sums and a guided filter, none of which
    # amplifies the backends' 1e-4 differences past a grey level.
    for input_size, quality in ((512, "fast"), (768, "fast"), (256, "high")):
        torch_matte = torch_session.predict(sample_rgb, input_size, quality=quality).matte
        onnx_matte = onnx_session.predict(sample_rgb, input_size, quality=quality).matte
        # 1e-4 apart before rounding to 1/255 steps: at most one grey level, on rare pixels.
        difference = np.abs(torch_matte.astype(int) - onnx_matte)
        assert difference.max() <= 1, (input_size, quality)
        assert (difference > 0).mean() < 1e-3, (input_size, quality)


def test_auto_is_onnxruntime_on_cpu_and_torch_on_gpu() -> None:
    assert resolve_backend("auto", "cpu") == "onnxruntime"
    assert resolve_backend("auto", "cuda") == "torch"
    assert resolve_backend("torch", "cpu") == "torch"


def test_unknown_backend_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match=r"^backend: expected one of auto, torch, onnxruntime"):
        check_backend("tensorrt")
    with pytest.raises(ValueError, match=r"^backend"):
        MattingSession(Path("unused.ckpt"), backend="openvino")


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


def test_arena_is_shrunk_only_after_a_change_of_size(session) -> None:
    runner = copy.copy(session.network)  # its own record of sizes, the same ONNX Runtime model
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
