"""``auto`` on the CPU: the fastest runtime installed here that reproduces PyTorch.

Which runtime wins depends on the CPU (OpenVINO's bfloat16 needs AVX-512 BF16 or AMX; on
AVX2-only CPUs the float32 runtimes are close), so the first load on a machine builds each
installed candidate, checks it against PyTorch as its backend always does, times them side by
side on a network-sized input and remembers the winner in the cache folder, keyed by the CPU,
the runtimes' versions and the precision. Later loads build only the winner.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import logging
import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from ..errors import NonFiniteOutputError
from ..files import temporary_beside
from .cpu import cpu_name, isa_flags

logger = logging.getLogger(__name__)

CHOICES_NAME = "cpu-backends.json"
# The default input size on a square photo; a few rounds tell runtimes 10% apart.
TRIAL_SHAPE = (1, 3, 512, 512)
TRIAL_ROUNDS = 3
RUNTIMES = ("onnxruntime", "openvino")

Runner = Callable[[np.ndarray], np.ndarray]


def package_version(package: str) -> str:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return "none"


def machine_key(precision: str) -> str:
    """What the winner depends on: the CPU, oneDNN's instruction-set cap (used to emulate
    older CPUs), the runtimes' versions and the precision asked for."""
    parts = [
        cpu_name(),
        ",".join(isa_flags()),
        f"cap={os.environ.get('ONEDNN_MAX_CPU_ISA', '')}",
        *(f"{runtime}={package_version(runtime)}" for runtime in RUNTIMES),
        f"precision={precision}",
    ]
    return " | ".join(parts)


def candidates(weights: Path, cache_dir: Path, precision: str) -> dict[str, Callable[[], Runner]]:
    """The installed runtimes that can run ``precision``, each as a function building its
    checked runner."""
    from .onnx_runner import onnx_runner
    from .openvino_runner import openvino_runner

    builders: dict[str, Callable[[], Runner]] = {
        "onnxruntime": lambda: onnx_runner(weights, "cpu", cache_dir),
        "openvino": lambda: openvino_runner(weights, cache_dir, precision),
    }
    if precision == "bf16":
        del builders["onnxruntime"]
    return {name: build for name, build in builders.items() if importlib.util.find_spec(name)}


def cpu_runtimes() -> list[tuple[str, str]]:
    """The (backend, precision) pairs this machine can run besides PyTorch."""
    runtimes = []
    if importlib.util.find_spec("onnxruntime"):
        runtimes.append(("onnxruntime", "fp32"))
    if importlib.util.find_spec("openvino"):
        import openvino as ov

        from .openvino_runner import native_bf16

        runtimes.append(("openvino", "fp32"))
        if native_bf16(ov.Core()):
            runtimes.append(("openvino", "bf16"))
    return runtimes


def _build(name: str, build: Callable[[], Runner]) -> Runner | None:
    try:
        return build()
    # Unfit weights are not a reason to try another runtime: every one would fail on them.
    except NonFiniteOutputError:
        raise
    # OSError: the cache cannot be written; RuntimeError and ImportError: the conversion is
    # impossible or does not reproduce PyTorch.
    except (OSError, RuntimeError, ImportError) as error:
        logger.warning("auto: cannot use %s (%s)", name, error)
        return None


def time_runners(runners: dict[str, Runner]) -> dict[str, float]:
    """Median seconds per call of each runner on ``TRIAL_SHAPE``, interleaved after one
    warm-up call each, so that the machine's load weighs on all alike."""
    x = np.random.default_rng(0).uniform(-1, 1, TRIAL_SHAPE).astype(np.float32)
    for run in runners.values():
        run(x)
    times: dict[str, list[float]] = {name: [] for name in runners}
    for _ in range(TRIAL_ROUNDS):
        for name, run in runners.items():
            start = time.perf_counter()
            run(x)
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(values) for name, values in times.items()}


def read_choices(path: Path) -> dict[str, str]:
    try:
        choices = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return choices if isinstance(choices, dict) else {}


def _remember(path: Path, key: str, name: str) -> None:
    choices = {**read_choices(path), key: name}
    try:
        with temporary_beside(path) as part:
            part.write_text(json.dumps(choices, indent=1))
            os.replace(part, path)
    except OSError as error:
        logger.warning("auto: cannot record the CPU runtime in %s (%s)", path, error)


def fastest_cpu_runner(weights: Path, cache_dir: Path, precision: str) -> Runner | None:
    """The fastest checked CPU runner, or None when no candidate can be built."""
    builders = candidates(weights, cache_dir, precision)
    path, key = cache_dir / CHOICES_NAME, machine_key(precision)
    chosen = read_choices(path).get(key)
    if chosen in builders:
        runner = _build(chosen, builders[chosen])
        if runner is not None:
            return runner
    runners = {}
    for name, build in builders.items():
        runner = _build(name, build)
        if runner is not None:
            runners[name] = runner
    if not runners:
        return None
    seconds = time_runners(runners) if len(runners) > 1 else {}
    fastest = min(runners, key=lambda name: seconds.get(name, 0.0))
    logger.info(
        "auto: %s on this CPU (ms per %s call: %s)",
        fastest,
        "x".join(map(str, TRIAL_SHAPE[2:])),
        ", ".join(f"{name} {s * 1e3:.0f}" for name, s in seconds.items()) or "no other runtime",
    )
    _remember(path, key, fastest)
    return runners[fastest]
