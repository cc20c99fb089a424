"""Runtimes for the network: PyTorch, or ONNX Runtime on an export of the same weights.

A runner takes the N x 3 x H x W input in [-1, 1] and returns the N x 1 x H x W alpha, both as
torch tensors, so the pipeline around it does not depend on the runtime.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import warnings
from collections.abc import Callable
from pathlib import Path

import torch

from .network import MODNet

logger = logging.getLogger(__name__)

BACKENDS = ("auto", "torch", "onnxruntime")
# Bump when the exported graph changes, so that cached exports are rebuilt.
EXPORT_VERSION = "1"
# The ONNX export must reproduce the PyTorch alpha to this max abs difference.
EXPORT_TOLERANCE = 1e-4

Runner = Callable[[torch.Tensor], torch.Tensor]


def check_backend(backend: str) -> str:
    if backend not in BACKENDS:
        raise ValueError(f"backend: expected one of {', '.join(BACKENDS)}, got '{backend}'")
    return backend


def _onnxruntime_available() -> bool:
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        return False
    return True


def resolve_backend(backend: str, device: torch.device) -> str:
    """``auto``: ONNX Runtime on the CPU (faster there), PyTorch on a GPU."""
    if check_backend(backend) != "auto":
        return backend
    return "onnxruntime" if device.type == "cpu" and _onnxruntime_available() else "torch"


class TorchRunner:
    name = "torch"

    def __init__(self, model: MODNet, device: torch.device) -> None:
        self.model = model.to(device).eval()

    @torch.inference_mode()
    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


class OnnxRuntimeRunner:
    name = "onnxruntime"

    def __init__(self, onnx_path: str | Path, device: torch.device) -> None:
        import onnxruntime as ort

        providers = ["CPUExecutionProvider"]
        if device.type == "cuda" and "CUDAExecutionProvider" in ort.get_available_providers():
            providers.insert(0, "CUDAExecutionProvider")
        self.session = ort.InferenceSession(str(onnx_path), providers=providers)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        (alpha,) = self.session.run(None, {"input": x.detach().cpu().contiguous().numpy()})
        return torch.from_numpy(alpha).to(x.device)


def export_onnx(model: MODNet, path: str | Path) -> Path:
    """Exports ``model`` with dynamic batch, height and width (input ``input``, output
    ``output``), writing through a temporary file so that a failed export leaves nothing."""
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


def _export_error(model: MODNet, runner: OnnxRuntimeRunner) -> float:
    x = torch.rand(1, 3, 96, 128, generator=torch.Generator().manual_seed(0)) * 2 - 1
    with torch.inference_mode():
        expected = model.cpu()(x)
    return float((runner(x) - expected).abs().max())


def _load_checked(model: MODNet, path: Path, device: torch.device) -> OnnxRuntimeRunner | None:
    """The runner on ``path`` if it loads and reproduces ``model``; None otherwise."""
    try:
        runner = OnnxRuntimeRunner(path, device)
    except Exception as error:  # onnxruntime raises its own types for unreadable files
        logger.warning("cannot load the ONNX export %s (%s)", path, error)
        return None
    error = _export_error(model, runner)
    if error > EXPORT_TOLERANCE:
        logger.warning("the ONNX export %s differs from PyTorch by %.2g", path, error)
        return None
    return runner


def default_cache_dir() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "modnet"


def export_path(weights: Path, cache_dir: Path) -> Path:
    """Where the export of ``weights`` is cached, named after their content."""
    digest = hashlib.sha256(EXPORT_VERSION.encode())
    with weights.open("rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return cache_dir / f"modnet-{digest.hexdigest()[:16]}.onnx"


def onnx_runner(
    model: MODNet, weights: Path, device: torch.device, cache_dir: Path
) -> OnnxRuntimeRunner:
    """ONNX Runtime on a cached export of ``model``, checked against PyTorch before use; an
    unreadable or stale export is rebuilt."""
    path = export_path(weights, cache_dir)
    runner = _load_checked(model, path, device) if path.is_file() else None
    if runner is None:
        logger.info("Exporting MODNet to ONNX: %s", path)
        export_onnx(model, path)
        runner = _load_checked(model, path, device)
    if runner is None:
        path.unlink(missing_ok=True)
        raise RuntimeError(f"{path}: the ONNX export does not reproduce PyTorch; use backend torch")
    return runner


def create_runner(
    backend: str, model: MODNet, weights: Path, device: torch.device, cache_dir: Path | None
) -> Runner:
    """The runner for ``backend``. ``onnxruntime`` exports ``model`` into ``cache_dir`` (default:
    ``$XDG_CACHE_HOME/modnet``); where it cannot, ``auto`` falls back to PyTorch."""
    chosen = resolve_backend(backend, device)
    if chosen == "onnxruntime":
        try:
            return onnx_runner(model, weights, device, cache_dir or default_cache_dir())
        except OSError as error:
            if backend != "auto":
                raise
            logger.warning("cannot cache the ONNX export (%s): using PyTorch", error)
    return TorchRunner(model, device)
