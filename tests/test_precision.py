"""The precision parameter: validated on its own and with the backend and device it needs."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from modnet import PRECISIONS, MattingSession, check_precision
from modnet.runtime.precision import resolve_precision


@pytest.mark.parametrize("precision", PRECISIONS)
def test_every_precision_is_accepted_with_auto_and_openvino(precision: str) -> None:
    assert check_precision(precision, "auto") == precision
    assert check_precision(precision, "openvino") == precision


@pytest.mark.parametrize("backend", ["torch", "onnxruntime"])
def test_float32_backends_accept_auto_and_fp32_only(backend: str) -> None:
    assert check_precision("auto", backend) == "auto"
    assert check_precision("fp32", backend) == "fp32"
    with pytest.raises(ValueError, match=r"^precision: bf16 runs on the openvino backend only"):
        check_precision("bf16", backend)


@pytest.mark.parametrize("precision", ["fp16", "int8", "BF16", "", None])
def test_unknown_precision_is_refused_by_name(precision: object) -> None:
    with pytest.raises(ValueError, match=r"^precision: expected one of auto, fp32, bf16"):
        check_precision(precision)  # type: ignore[arg-type]


def test_session_refuses_bad_precision_before_loading_anything() -> None:
    # The weights do not exist: the precision error must come first.
    with pytest.raises(ValueError, match=r"^precision: expected one of"):
        MattingSession(Path("missing.ckpt"), precision="fp16")
    with pytest.raises(ValueError, match=r"^precision: bf16 runs on the openvino backend only"):
        MattingSession(Path("missing.ckpt"), backend="onnxruntime", precision="bf16")
    with pytest.raises(ValueError, match=r"^precision: bf16 runs on the CPU"):
        MattingSession(Path("missing.ckpt"), device="cuda", precision="bf16")


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
