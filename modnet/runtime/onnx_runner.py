"""ONNX Runtime on the cached ONNX export of a checkpoint, with its memory arena kept in check."""

from __future__ import annotations

import logging
import math
from pathlib import Path

import numpy as np

from ..errors import NonFiniteOutputError
from ..limits import SHRINK_FACTOR
from .export import (
    EXPORT_TOLERANCE,
    check_error,
    export_cache,
    export_error,
    export_onnx,
    load_model,
)
from .threads import network_threads

logger = logging.getLogger(__name__)

# ONNX Runtime's CPU arena keeps, for the life of the session, the memory of the largest input it
# has seen. Shrinking it at the end of a run gives back what that run does not need kept, so a
# long-running process returns to its usual footprint after an unusual image; but shrinking
# after every run makes the next one allocate again, which costs time on ordinary photos
# (scripts/benchmarks/benchmark_limits.py, "arena" table). So the arena is shrunk only after a
# run whose input's pixel count differs from the previous run's by more than SHRINK_FACTOR: a
# stream of photos of ordinary proportions (1:1 to 2:1) at one input size never pays for it.
ARENA_MODES = ("shrink-on-change", "shrink-always", "keep", "off")


class OnnxRuntimeRunner:
    """``arena``: one of :data:`ARENA_MODES`; ``keep`` is ONNX Runtime's default, ``off`` runs
    without an arena."""

    name = "onnxruntime"

    def __init__(
        self,
        onnx_path: str | Path,
        device: str,
        arena: str = ARENA_MODES[0],
        precision: str = "fp32",
    ) -> None:
        import onnxruntime as ort

        self.precision = precision  # "int8" for a quantized model (see modnet.runtime.int8)

        providers = ["CPUExecutionProvider"]
        if device == "cuda" and "CUDAExecutionProvider" in ort.get_available_providers():
            providers.insert(0, "CUDAExecutionProvider")
        options = ort.SessionOptions()
        options.enable_cpu_mem_arena = arena != "off"
        options.intra_op_num_threads = network_threads() or 0  # 0: ONNX Runtime's default
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
        what = f"the ONNX export of {weights} differs from PyTorch"
        check_error(export_error(model, runner), EXPORT_TOLERANCE, what, "use backend 'torch'")
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
