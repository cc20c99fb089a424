"""The ``precision`` choice: which arithmetic the network may use.

``fp32`` everywhere reproduces PyTorch to 1e-4. ``bf16`` runs the semantic, detail and fusion
branches in bfloat16 on OpenVINO, the MobileNetV2 backbone staying in float32 (see
:mod:`modnet.runtime.openvino_runner`); it is offered only where the CPU computes bfloat16 natively.
``fp16`` runs the whole network in float16 with PyTorch on a CUDA GPU, whose float16 kernels
are fast (on a CPU they are not vectorised). ``int8`` runs the same branches as ``bf16`` on a
static INT8 model with ONNX Runtime on the CPU (see :mod:`modnet.runtime.int8`). ``auto`` is
``fp16`` on a CUDA GPU, ``bf16`` where OpenVINO runs on a CPU that computes it, ``fp32``
otherwise: never ``int8``, which meets the +2% rule below at the default input size only (at
input size 256 the dev photos' MSE moved by +2.5%), while a session's runner serves every input
size: a cost that only an explicit choice should take.

Why ``auto`` takes float16 on a GPU: a faster default may cost at most +2% of MSE and MAD on
the dev photos; float16 everywhere, measured once on an NVIDIA H200 (PyTorch 2.11, CUDA 13)
over the 41 dev photos at input size 512, moved them by +0.32% and +0.16% against IEEE float32.
``scripts/benchmarks/benchmark_gpu.py`` measures it again on any CUDA GPU. INT8, calibrated on
the shipped samples, moved them by -0.5% and +0.3% at the default input size against ONNX
Runtime in float32 on an AMD EPYC without AVX-512, and by +2.5% and +1.9% at input size 256
(``scripts/benchmarks/benchmark_int8.py``).
"""

from __future__ import annotations

import logging

logger = logging.getLogger(__name__)

PRECISIONS = ("auto", "fp32", "bf16", "fp16", "int8")
# The backends that can run bfloat16 (auto chooses OpenVINO for it), float16 (auto chooses
# PyTorch on a GPU) and int8 (auto chooses ONNX Runtime: OpenVINO's matte of the INT8 model is
# wrong).
BF16_BACKENDS = ("auto", "openvino")
FP16_BACKENDS = ("auto", "torch")
INT8_BACKENDS = ("auto", "onnxruntime")


def check_precision(precision: str, backend: str = "auto") -> str:
    """Validates ``precision`` and its pairing with ``backend``."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision: expected one of {', '.join(PRECISIONS)}, got '{precision}'")
    if precision == "bf16" and backend not in BF16_BACKENDS:
        raise ValueError(f"precision: bf16 runs on the openvino backend only, got '{backend}'")
    if precision == "fp16" and backend not in FP16_BACKENDS:
        raise ValueError(
            f"precision: fp16 runs on the torch backend on a CUDA GPU only, got '{backend}'"
        )
    if precision == "int8" and backend not in INT8_BACKENDS:
        raise ValueError(
            f"precision: int8 runs on the onnxruntime backend on the CPU only (backend auto or "
            f"onnxruntime), got '{backend}'"
        )
    return precision


def is_cuda(device: str) -> bool:
    """Whether ``device`` (``cpu``, ``cuda``, ``cuda:1``...) is a CUDA GPU."""
    return str(device).split(":")[0] == "cuda"


def check_device_precision(precision: str, device: str) -> str:
    """Validates the pairing of ``precision`` with the ``device`` a session runs on."""
    if precision == "bf16" and device != "cpu":
        raise ValueError(f"precision: bf16 runs on the CPU, got device '{device}'")
    if precision == "fp16" and not is_cuda(device):
        raise ValueError(
            f"precision: fp16 runs on a CUDA GPU only (cuda True, with a usable GPU), got "
            f"device '{device}'; use auto or fp32"
        )
    if precision == "int8" and device != "cpu":
        raise ValueError(
            f"precision: int8 runs on the CPU only (cuda False), got device '{device}'; use auto "
            "or fp32"
        )
    return precision


def torch_precision(precision: str, device: str) -> str:
    """The precision a PyTorch runner uses: ``fp16`` on a CUDA GPU for ``auto`` and ``fp16``,
    ``fp32`` otherwise (``fp16`` elsewhere is refused by :func:`check_device_precision`)."""
    return "fp16" if precision in ("auto", "fp16") and is_cuda(device) else "fp32"


def resolve_precision(precision: str, native_bf16: bool) -> str:
    """The precision an OpenVINO runner uses: ``bf16`` only where the CPU computes it."""
    if precision == "fp32":
        return "fp32"
    if native_bf16:
        return "bf16"
    if precision == "bf16":
        logger.warning("precision: this CPU has no native bfloat16 arithmetic, using fp32")
    return "fp32"
