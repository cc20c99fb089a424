"""Runtimes for the network: PyTorch, or ONNX Runtime or OpenVINO on an export of the same
weights.

A runner takes the N x 3 x H x W float32 input in [-1, 1] and returns the N x 1 x H x W alpha,
both NumPy arrays, so the pipeline around it does not depend on the runtime. The ONNX Runtime
and OpenVINO paths import PyTorch only to build the export the first time. The PyTorch runner
lives in ``torch_runner.py``, the OpenVINO one in ``openvino_runner.py``; ``auto`` on the CPU
is chosen in ``cpu_choice.py``.
"""

from __future__ import annotations

import logging
import math
import os
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .errors import NonFiniteOutputError
from .export_cache import ExportCache

if TYPE_CHECKING:
    from .network import MODNet

logger = logging.getLogger(__name__)

BACKENDS = ("auto", "torch", "onnxruntime", "openvino")
# Bump when the exported graph changes, so that cached exports are rebuilt.
EXPORT_VERSION = "3"
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


# ONNX Runtime's CPU arena keeps, for the life of the session, the memory of the largest input it
# has seen. Shrinking it at the end of a run gives back what that run does not need kept, so a
# long-running process returns to its usual footprint after an unusual image; but shrinking
# after every run makes the next one allocate again, which costs time on ordinary photos
# (scripts/benchmark_limits.py, "arena" table). So the arena is shrunk only after a run whose
# input's pixel count differs from the previous run's by more than SHRINK_FACTOR: a stream of
# photos of ordinary proportions (1:1 to 2:1) at one input size never pays for it.
ARENA_MODES = ("shrink-on-change", "shrink-always", "keep", "off")
SHRINK_FACTOR = 2.0


class OnnxRuntimeRunner:
    """``arena``: one of :data:`ARENA_MODES`; ``keep`` is ONNX Runtime's default, ``off`` runs
    without an arena."""

    name = "onnxruntime"
    precision = "fp32"

    def __init__(self, onnx_path: str | Path, device: str, arena: str = ARENA_MODES[0]) -> None:
        import onnxruntime as ort

        providers = ["CPUExecutionProvider"]
        if device == "cuda" and "CUDAExecutionProvider" in ort.get_available_providers():
            providers.insert(0, "CUDAExecutionProvider")
        options = ort.SessionOptions()
        options.enable_cpu_mem_arena = arena != "off"
        self.arena = arena
        self.shrink = ort.RunOptions()
        self.shrink.add_run_config_entry("memory.enable_memory_arena_shrinkage", "cpu:0")
        self.last_pixels = 0
        self.session = ort.InferenceSession(str(onnx_path), options, providers=providers)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        pixels = x.shape[-2] * x.shape[-1]
        ratio = pixels / self.last_pixels if self.last_pixels else math.inf
        changed = not 1 / SHRINK_FACTOR <= ratio <= SHRINK_FACTOR
        self.last_pixels = pixels
        shrink = self.arena == "shrink-always" or (self.arena == "shrink-on-change" and changed)
        inputs = {"input": np.ascontiguousarray(x, dtype=np.float32)}
        return self.session.run(None, inputs, self.shrink if shrink else None)[0]


def export_onnx(model: MODNet, path: str | Path) -> Path:
    """Exports ``model`` to ``path`` with dynamic batch, height and width (input ``input``,
    output ``output``)."""
    import torch

    axes = {0: "batch", 2: "height", 3: "width"}
    with warnings.catch_warnings():
        # The TorchScript exporter is deprecated in favour of one that needs onnxscript; it
        # still exports this static graph exactly. InstanceNorm's "train=True" notice is
        # expected: it normalises with each image's own statistics by design.
        warnings.simplefilter("ignore")
        torch.onnx.export(
            model.cpu().eval(),
            (torch.zeros(1, 3, 64, 64),),
            str(path),
            dynamo=False,
            input_names=["input"],
            output_names=["output"],
            dynamic_axes={"input": axes, "output": axes},
            opset_version=17,
        )
    return Path(path)


def export_error(model: MODNet, runner: Runner) -> float:
    """Max abs difference between ``runner`` and PyTorch's ``model`` on a fixed input (NaN if
    the runner's output is not finite); raises if PyTorch's is not."""
    from .torch_runner import TorchRunner

    x = np.random.default_rng(0).uniform(-1, 1, (1, 3, 96, 128)).astype(np.float32)
    expected = TorchRunner(model, "cpu")(x)
    if not np.isfinite(expected).all():
        raise NonFiniteOutputError.for_output()
    return float(np.abs(runner(x) - expected).max())


def default_cache_dir() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "modnet"


def export_cache(cache_dir: Path) -> ExportCache:
    return ExportCache(cache_dir, prefix="modnet", suffix=".onnx", version=EXPORT_VERSION)


def onnx_runner(weights: Path, device: str, cache_dir: Path) -> OnnxRuntimeRunner:
    """ONNX Runtime on the cached export of ``weights``, built from the checkpoint and checked
    against PyTorch when there is none (see :mod:`modnet.export_cache`)."""
    cache = export_cache(cache_dir)
    key = cache.key(weights)
    path = cache.find(key)
    if path is not None:
        try:
            return OnnxRuntimeRunner(path, device)
        except Exception as error:  # onnxruntime raises its own types, e.g. for a newer opset
            logger.warning("cannot load the ONNX export %s (%s): it is rebuilt", path, error)
            path.unlink(missing_ok=True)
    model = load_model(weights)
    checked: list[OnnxRuntimeRunner] = []

    def build(part: Path) -> None:
        export_onnx(model, part)
        runner = OnnxRuntimeRunner(part, device)
        error = export_error(model, runner)
        if not error <= EXPORT_TOLERANCE:  # also catches NaN
            raise RuntimeError(
                f"the ONNX export of {weights} differs from PyTorch by {error:.2g} "
                f"(> {EXPORT_TOLERANCE}); it was not kept, use backend 'torch'"
            )
        checked.append(runner)

    logger.info("Exporting MODNet to ONNX in %s", cache_dir)
    try:
        cache.store(key, build)
    except NonFiniteOutputError as error:
        raise NonFiniteOutputError(f"{weights}: {error}") from None
    except OSError as error:
        raise type(error)(
            f"no ONNX export of {weights} in {cache_dir}, and none can be written there "
            f"({error}): make the folder writable (or choose another cache_dir), or use the "
            "backend 'torch' ('auto' falls back to it)",
        ) from error
    return checked[0]


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
