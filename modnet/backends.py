"""Runtimes for the network: PyTorch, or ONNX Runtime or OpenVINO on an export of the same
weights.

A runner takes the N x 3 x H x W float32 input in [-1, 1] and returns the N x 1 x H x W alpha,
both NumPy arrays, so the pipeline around it does not depend on the runtime. The ONNX Runtime
and OpenVINO paths import PyTorch only to build the export the first time. The PyTorch runner
lives in ``torch_runner.py``, the OpenVINO one in ``openvino_runner.py``; ``auto`` on the CPU
is chosen in ``cpu_choice.py``.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from .network import MODNet

logger = logging.getLogger(__name__)

BACKENDS = ("auto", "torch", "onnxruntime", "openvino")
# Bump when the exported graph changes, so that cached exports are rebuilt.
EXPORT_VERSION = "2"
# The ONNX export must reproduce the PyTorch alpha to this max abs difference.
EXPORT_TOLERANCE = 1e-4

Runner = Callable[[np.ndarray], np.ndarray]


def check_backend(backend: str) -> str:
    if backend not in BACKENDS:
        raise ValueError(f"backend: expected one of {', '.join(BACKENDS)}, got '{backend}'")
    return backend


def load_model(weights: Path) -> MODNet:
    """The network with its BatchNorms folded, ready for inference."""
    from .checkpoint import load_checkpoint
    from .fusion import fold_batch_norms

    return fold_batch_norms(load_checkpoint(weights))


class OnnxRuntimeRunner:
    name = "onnxruntime"
    precision = "fp32"

    def __init__(self, onnx_path: str | Path, device: str) -> None:
        import onnxruntime as ort

        providers = ["CPUExecutionProvider"]
        if device == "cuda" and "CUDAExecutionProvider" in ort.get_available_providers():
            providers.insert(0, "CUDAExecutionProvider")
        self.session = ort.InferenceSession(str(onnx_path), providers=providers)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return self.session.run(None, {"input": np.ascontiguousarray(x, dtype=np.float32)})[0]


def export_onnx(model: MODNet, path: str | Path) -> Path:
    """Exports ``model`` with dynamic batch, height and width (input ``input``, output
    ``output``), writing through a temporary file so that a failed export leaves nothing."""
    import torch

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    os.close(fd)
    axes = {0: "batch", 2: "height", 3: "width"}
    try:
        with warnings.catch_warnings():
            # The TorchScript exporter is deprecated in favour of one that needs onnxscript;
            # it still exports this static graph exactly. InstanceNorm's "train=True" notice
            # is expected: it normalises with each image's own statistics by design.
            warnings.simplefilter("ignore")
            torch.onnx.export(
                model.cpu().eval(),
                (torch.zeros(1, 3, 64, 64),),
                tmp_name,
                dynamo=False,
                input_names=["input"],
                output_names=["output"],
                dynamic_axes={"input": axes, "output": axes},
                opset_version=17,
            )
        os.replace(tmp_name, path)
    finally:
        Path(tmp_name).unlink(missing_ok=True)
    return path


def export_error(model: MODNet, runner: Runner) -> float:
    """Max abs difference between ``runner`` and PyTorch's ``model`` on a fixed input."""
    from .torch_runner import TorchRunner

    x = np.random.default_rng(0).uniform(-1, 1, (1, 3, 96, 128)).astype(np.float32)
    return float(np.abs(runner(x) - TorchRunner(model, "cpu")(x)).max())


def _load(path: Path, device: str) -> OnnxRuntimeRunner | None:
    try:
        return OnnxRuntimeRunner(path, device)
    except Exception as error:  # onnxruntime raises its own types for unreadable files
        logger.warning("cannot load the ONNX export %s (%s)", path, error)
        return None


def default_cache_dir() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "modnet"


def export_path(weights: Path, cache_dir: Path) -> Path:
    """Where the export of ``weights`` is cached, named after their content."""
    digest = hashlib.sha256(EXPORT_VERSION.encode())
    with weights.open("rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return cache_dir / f"modnet-{digest.hexdigest()[:16]}.onnx"


def onnx_runner(weights: Path, device: str, cache_dir: Path) -> OnnxRuntimeRunner:
    """ONNX Runtime on the cached export of ``weights``. A missing or unreadable export is
    (re)built from the checkpoint and checked against PyTorch before it is used."""
    path = export_path(weights, cache_dir)
    runner = _load(path, device) if path.is_file() else None
    if runner is not None:
        return runner
    model = load_model(weights)
    logger.info("Exporting MODNet to ONNX: %s", path)
    export_onnx(model, path)
    runner = _load(path, device)
    error = float("inf") if runner is None else export_error(model, runner)
    if runner is None or error > EXPORT_TOLERANCE:
        path.unlink(missing_ok=True)
        raise RuntimeError(
            f"{path}: the ONNX export differs from PyTorch by {error:.2g} "
            f"(> {EXPORT_TOLERANCE}); it was removed, use backend 'torch'"
        )
    return runner


def create_runner(
    backend: str, weights: Path, device: str, cache_dir: Path | None, precision: str = "auto"
) -> Runner:
    """The runner for ``backend`` and ``precision`` (see :mod:`modnet.precision`).

    ``onnxruntime`` and ``openvino`` cache their conversions in ``cache_dir`` (default:
    ``$XDG_CACHE_HOME/modnet``). ``auto`` is PyTorch on a GPU and, on the CPU, the fastest of
    the installed runtimes that reproduce PyTorch (see :mod:`modnet.cpu_choice`); where none
    can be made (no ``onnx`` package, read-only folder...), PyTorch, with a warning.
    """
    cache_dir = cache_dir or default_cache_dir()
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

    return TorchRunner(load_model(weights), device)
