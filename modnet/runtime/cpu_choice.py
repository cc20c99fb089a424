"""``auto`` on the CPU: the fastest runtime installed here that reproduces PyTorch.

Which runtime wins depends on the CPU (OpenVINO's bfloat16 needs AVX-512 BF16 or AMX; on
AVX2-only CPUs the float32 runtimes are close), so the first load on a machine builds each
installed candidate, checks it against PyTorch as its backend always does, times them side by
side on a network-sized input and remembers the winner in the cache folder, keyed by the CPU,
the runtimes' versions and the precision. Later loads build only the winner.

With ``precision`` = ``auto`` on a CPU without bfloat16, ONNX Runtime on the INT8 model (see
:mod:`modnet.runtime.int8`) joins the trial, and wins only where it takes at most
``1 - INT8_MIN_GAIN`` of the fastest float32 runtime's time: it moves the matte a little (within
the +2% of MSE and MAD a faster default may cost, on the dev photos), which a gain inside the
trial's noise would not pay for. Where the CPU computes bfloat16, OpenVINO's bfloat16 is the
faster choice that moves the matte less, and INT8 is not tried.
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
INT8 = "onnxruntime-int8"
# Bump when the candidates change, so that a machine's remembered winner is timed again.
TRIAL_VERSION = "2"
INT8_MIN_GAIN = 0.05

Runner = Callable[[np.ndarray], np.ndarray]


def package_version(package: str) -> str:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return "none"


def machine_key(precision: str) -> str:
    """What the winner depends on: the CPU, oneDNN's instruction-set cap (used to emulate
    older CPUs), the runtimes' versions, the precision asked for and the trial's candidates."""
    parts = [
        cpu_name(),
        ",".join(isa_flags()),
        f"cap={os.environ.get('ONEDNN_MAX_CPU_ISA', '')}",
        *(f"{runtime}={package_version(runtime)}" for runtime in RUNTIMES),
        f"precision={precision}",
        f"trial={TRIAL_VERSION}",
    ]
    return " | ".join(parts)


def candidates(weights: Path, cache_dir: Path, precision: str) -> dict[str, Callable[[], Runner]]:
    """The installed runtimes that can run ``precision``, each as a function building its
    checked runner."""
    from .int8 import int8_runner
    from .onnx_runner import onnx_runner
    from .openvino_runner import openvino_runner

    builders: dict[str, Callable[[], Runner]] = {
        "onnxruntime": lambda: onnx_runner(weights, "cpu", cache_dir),
        "openvino": lambda: openvino_runner(weights, cache_dir, precision),
    }
    if precision == "bf16":
        del builders["onnxruntime"]
    installed = {name: build for name, build in builders.items() if importlib.util.find_spec(name)}
    if precision == "auto" and "onnxruntime" in installed and not native_bf16_here():
        installed[INT8] = lambda: int8_runner(weights, cache_dir)
    return installed


def native_bf16_here() -> bool:
    """Whether OpenVINO is installed and computes bfloat16 natively on this CPU."""
    if not importlib.util.find_spec("openvino"):
        return False
    import openvino as ov

    from .openvino_runner import native_bf16

    return native_bf16(ov.Core())


def cpu_runtimes() -> list[tuple[str, str]]:
    """The (backend, precision) pairs that ``auto`` may choose on this machine besides
    PyTorch."""
    runtimes = []
    bf16 = native_bf16_here()
    if importlib.util.find_spec("onnxruntime"):
        runtimes.append(("onnxruntime", "fp32"))
        if not bf16:
            runtimes.append(("onnxruntime", "int8"))
    if importlib.util.find_spec("openvino"):
        runtimes.append(("openvino", "fp32"))
        if bf16:
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


def fastest_runtime(seconds: dict[str, float]) -> str:
    """The runtime with the shortest time, INT8's counted as if it took ``INT8_MIN_GAIN`` more
    of the float32 time (a tie goes to float32, listed first)."""
    handicap = {INT8: 1 / (1 - INT8_MIN_GAIN)}
    return min(seconds, key=lambda name: seconds[name] * handicap.get(name, 1.0))


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
    fastest = fastest_runtime(seconds) if seconds else next(iter(runners))
    logger.info(
        "auto: %s on this CPU (ms per %s call: %s)",
        fastest,
        "x".join(map(str, TRIAL_SHAPE[2:])),
        ", ".join(f"{name} {s * 1e3:.0f}" for name, s in seconds.items()) or "no other runtime",
    )
    _remember(path, key, fastest)
    return runners[fastest]
