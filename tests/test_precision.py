"""The precision parameter: validated on its own and with the backend and device it needs."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from modnet import MattingSession, check_precision
from modnet.runtime.precision import resolve_precision, torch_precision


@pytest.mark.parametrize("precision", ["auto", "fp32", "bf16"])
def test_cpu_precisions_are_accepted_with_auto_and_openvino(precision: str) -> None:
    assert check_precision(precision, "auto") == precision
    assert check_precision(precision, "openvino") == precision


@pytest.mark.parametrize("backend", ["torch", "onnxruntime"])
def test_float32_backends_accept_auto_and_fp32(backend: str) -> None:
    assert check_precision("auto", backend) == "auto"
    assert check_precision("fp32", backend) == "fp32"
    with pytest.raises(ValueError, match=r"^precision: bf16 runs on the openvino backend only"):
        check_precision("bf16", backend)


@pytest.mark.parametrize("backend", ["auto", "torch"])
def test_fp16_is_accepted_with_the_backends_that_run_pytorch(backend: str) -> None:
    assert check_precision("fp16", backend) == "fp16"


@pytest.mark.parametrize("backend", ["onnxruntime", "openvino"])
def test_fp16_is_refused_with_the_cpu_runtimes(backend: str) -> None:
    with pytest.raises(
        ValueError, match=r"^precision: fp16 runs on the torch backend on a CUDA GPU only"
    ):
        check_precision("fp16", backend)


@pytest.mark.parametrize("precision", ["fp8", "int4", "BF16", "INT8", "", None])
def test_unknown_precision_is_refused_by_name(precision: object) -> None:
    with pytest.raises(
        ValueError, match=r"^precision: expected one of auto, fp32, bf16, fp16, int8, got"
    ):
        check_precision(precision)  # type: ignore[arg-type]


def test_session_refuses_bad_precision_before_loading_anything() -> None:
    # The weights do not exist: the precision error must come first.
    with pytest.raises(ValueError, match=r"^precision: expected one of"):
        MattingSession(Path("missing.ckpt"), precision="fp8")
    with pytest.raises(ValueError, match=r"^precision: bf16 runs on the openvino backend only"):
        MattingSession(Path("missing.ckpt"), backend="onnxruntime", precision="bf16")
    with pytest.raises(ValueError, match=r"^precision: bf16 runs on the CPU"):
        MattingSession(Path("missing.ckpt"), device="cuda", precision="bf16")
    for backend in ("auto", "torch"):
        with pytest.raises(ValueError, match=r"^precision: fp16 runs on a CUDA GPU only"):
            MattingSession(Path("missing.ckpt"), backend=backend, precision="fp16")
    with pytest.raises(ValueError, match=r"^precision: fp16 runs on the torch backend"):
        MattingSession(Path("missing.ckpt"), device="cuda", backend="openvino", precision="fp16")


@pytest.mark.parametrize(
    ("precision", "device", "expected"),
    [
        ("auto", "cuda", "fp16"),
        ("auto", "cuda:1", "fp16"),
        ("fp16", "cuda", "fp16"),
        ("fp32", "cuda", "fp32"),
        ("auto", "cpu", "fp32"),
        ("fp32", "cpu", "fp32"),
    ],
)
def test_pytorch_precision_is_fp16_on_a_cuda_gpu_unless_fp32_is_asked(
    precision: str, device: str, expected: str
) -> None:
    assert torch_precision(precision, device) == expected


def test_session_on_a_gpu_gets_a_fp16_runner_for_auto_and_fp32_when_asked(
    checkpoint: Path, tmp_path: Path, monkeypatch
) -> None:
    made: list[tuple[str, str]] = []

    class FakeTorchRunner:
        name = "torch"

        def __init__(self, model, device: str, precision: str) -> None:
            made.append((device, precision))
            self.precision = precision

    monkeypatch.setattr("modnet.runtime.torch_runner.TorchRunner", FakeTorchRunner)
    monkeypatch.setattr("modnet.runtime.factory.load_model", lambda _weights: None)
    for precision in ("auto", "fp16", "fp32"):
        session = MattingSession(checkpoint, "cuda", cache_dir=tmp_path, precision=precision)
        assert session.on_device and session.backend == "torch"
    assert made == [("cuda", "fp16"), ("cuda", "fp16"), ("cuda", "fp32")]
    assert session.precision == "fp32"


@pytest.mark.parametrize(
    ("precision", "native", "expected"),
    [
        ("auto", True, "bf16"),
        ("auto", False, "fp32"),
        ("bf16", True, "bf16"),
        ("fp32", True, "fp32"),
        ("fp32", False, "fp32"),
    ],
)
def test_resolved_precision(precision: str, native: bool, expected: str) -> None:
    assert resolve_precision(precision, native) == expected


def test_bf16_without_native_support_warns_and_runs_fp32(caplog) -> None:
    with caplog.at_level(logging.WARNING):
        assert resolve_precision("bf16", native_bf16=False) == "fp32"
    assert any("no native bfloat16" in r.getMessage() for r in caplog.records)
