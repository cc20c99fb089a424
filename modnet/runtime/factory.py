"""The runner factory: a backend name in, a runner out.

A runner takes the N x 3 x H x W float32 input in [-1, 1] and returns the N x 1 x H x W alpha,
both NumPy arrays, so the pipeline around it does not depend on the runtime. One module per
runtime: ``torch_runner.py``, ``onnx_runner.py``, ``openvino_runner.py``; ``auto`` on the CPU is
chosen in ``cpu_choice.py``.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np

from .export import load_model
from .onnx_runner import onnx_runner
from .precision import torch_precision

logger = logging.getLogger(__name__)

BACKENDS = ("auto", "torch", "onnxruntime", "openvino")

Runner = Callable[[np.ndarray], np.ndarray]


def check_backend(backend: str) -> str:
    if backend not in BACKENDS:
        raise ValueError(f"backend: expected one of {', '.join(BACKENDS)}, got '{backend}'")
    return backend


def default_cache_dir() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "modnet"


def create_runner(
    backend: str, weights: Path, device: str, cache_dir: Path | None, precision: str = "auto"
) -> Runner:
    """The runner for ``backend`` and ``precision`` (see :mod:`modnet.runtime.precision`).

    ``onnxruntime`` and ``openvino`` cache their conversions in ``cache_dir`` (default:
    ``$XDG_CACHE_HOME/modnet``). ``auto`` is PyTorch on a GPU and, on the CPU, the fastest of
    the installed runtimes that reproduce PyTorch (see :mod:`modnet.runtime.cpu_choice`); where none
    can be made (no ``onnx`` package, read-only folder...), PyTorch, with a warning. ``int8``
    (validated by :func:`modnet.runtime.precision.check_precision`) is ONNX Runtime on the CPU,
    for ``auto`` too.
    """
    cache_dir = cache_dir or default_cache_dir()
    if precision == "int8":
        from .int8 import int8_runner

        return int8_runner(weights, cache_dir)
    if check_backend(backend) == "auto" and device == "cpu":
        from .cpu_choice import fastest_cpu_runner

        runner = fastest_cpu_runner(weights, cache_dir, precision)
        if runner is not None:
            return runner
        logger.warning("auto: no ONNX Runtime or OpenVINO model could be made, using PyTorch")
    if backend == "onnxruntime":
        return onnx_runner(weights, device, cache_dir)
    if backend == "openvino":
        from .openvino_runner import openvino_runner

        if device != "cpu":
            logger.warning("backend: openvino runs on the CPU, not on %s", device)
        return openvino_runner(weights, cache_dir, precision)
    from .torch_runner import TorchRunner

    return TorchRunner(load_model(weights), device, torch_precision(precision, device))
