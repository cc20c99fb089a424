"""The ``precision`` choice: which arithmetic the network may use on the CPU.

``fp32`` everywhere reproduces PyTorch to 1e-4. ``bf16`` runs the semantic, detail and fusion
branches in bfloat16 on OpenVINO, the MobileNetV2 backbone staying in float32 (see
:mod:`modnet.runtime.openvino_runner`); it is offered only where the CPU computes bfloat16 natively.
``auto`` is ``bf16`` where that is so and the backend is OpenVINO, ``fp32`` otherwise.
"""

from __future__ import annotations

import logging

logger = logging.getLogger(__name__)

PRECISIONS = ("auto", "fp32", "bf16")
# The backends that can run bfloat16 (auto chooses OpenVINO for it).
BF16_BACKENDS = ("auto", "openvino")


def check_precision(precision: str, backend: str = "auto") -> str:
    """Validates ``precision`` and its pairing with ``backend``."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision: expected one of {', '.join(PRECISIONS)}, got '{precision}'")
    if precision == "bf16" and backend not in BF16_BACKENDS:
        raise ValueError(f"precision: bf16 runs on the openvino backend only, got '{backend}'")
    return precision


def resolve_precision(precision: str, native_bf16: bool) -> str:
    """The precision an OpenVINO runner uses: ``bf16`` only where the CPU computes it."""
    if precision == "fp32":
        return "fp32"
    if native_bf16:
        return "bf16"
    if precision == "bf16":
        logger.warning("precision: this CPU has no native bfloat16 arithmetic, using fp32")
    return "fp32"
