"""Time and memory of matting images of given shapes, measured in a process of its own.

As a script, mattes the bundled sample resized to each shape in turn and prints one JSON line:
the resident memory once the session is loaded, then for each image its seconds, the resident
memory after it and its matte's shape, then the process's peak resident memory::

    python scripts/benchmarks/memory_probe.py WEIGHTS CACHE_DIR BACKEND INPUT_SIZE HxW [HxW ...]
        [--arena M]

``--arena`` runs ONNX Runtime with another arena mode than the plugin's (see
:data:`modnet.runtime.onnx_runner.ARENA_MODES`), for comparisons.

As a module, :func:`run_probe` runs that in a child process and kills it as soon as its resident
memory exceeds a limit, so a regression fails instead of exhausting the machine. Resident memory
is polled rather than capped with RLIMIT_AS: an address-space limit counts the gigabytes of
virtual memory that the CUDA build of PyTorch and ONNX Runtime's threads reserve without using.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from plugin_env import REPO

POLL_S = 0.02


class MemoryLimitError(AssertionError):
    """The child's resident memory went over the limit; it was killed."""


def resident_mib(pid: int | str = "self", field: str = "VmRSS") -> float:
    """Resident memory of a process (Linux), in MiB: current (``VmRSS``) or peak (``VmHWM``;
    unlike getrusage's ru_maxrss, it does not count what the parent held before the fork)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no {field} for process {pid}")


def run_probe(
    weights: Path,
    cache_dir: Path,
    backend: str,
    input_size: int,
    shapes: list[tuple[int, int]],
    limit_mib: float,
    timeout_s: float = 600.0,
    arena: str | None = None,
) -> dict:
    """Runs this script in a child process; raises :class:`MemoryLimitError` if its resident
    memory exceeds ``limit_mib``. Returns the child's report."""
    args = [str(weights), str(cache_dir), backend, str(input_size)]
    args += [f"{height}x{width}" for height, width in shapes]
    args += ["--arena", arena] if arena else []
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(REPO), str(REPO / "scripts" / "benchmarks")]),
    }
    child = subprocess.Popen(
        [sys.executable, __file__, *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + timeout_s
    try:
        while child.poll() is None:
            try:
                used = resident_mib(child.pid)
            except (FileNotFoundError, ProcessLookupError, RuntimeError):
                used = 0.0  # exiting
            if used > limit_mib:
                raise MemoryLimitError(
                    f"{backend} at input_size {input_size} on {shapes}: resident memory "
                    f"reached {used:.0f} MiB, over the limit of {limit_mib:.0f} MiB"
                )
            if time.monotonic() > deadline:
                raise TimeoutError(f"no result after {timeout_s:g} s")
            time.sleep(POLL_S)
        stdout, stderr = child.communicate()
    finally:
        if child.poll() is None:
            child.kill()
            child.communicate()
    if child.returncode != 0:
        raise RuntimeError(f"the probe failed ({child.returncode}): {stderr[-3000:]}")
    return json.loads(stdout.strip().splitlines()[-1])


def main() -> None:
    sys.path.insert(0, str(REPO))  # the core package, importable without Ikomia
    import cv2

    from modnet import MattingSession
    from modnet.runtime.export import export_cache
    from modnet.runtime.onnx_runner import ARENA_MODES, OnnxRuntimeRunner

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("weights")
    parser.add_argument("cache_dir", type=Path)
    parser.add_argument("backend")
    parser.add_argument("input_size", type=int)
    parser.add_argument("shapes", nargs="+", help="HxW")
    parser.add_argument("--arena", choices=ARENA_MODES)
    args = parser.parse_args()

    sample = cv2.imread(str(REPO / "samples" / "astronaut.png"))[..., ::-1]
    session = MattingSession(args.weights, backend=args.backend, cache_dir=args.cache_dir)
    if args.arena:
        cache = export_cache(args.cache_dir)
        session.network = OnnxRuntimeRunner(
            cache.find(cache.key(session.weights)), "cpu", arena=args.arena
        )
    report: dict = {"backend": session.backend, "loaded_mib": resident_mib(), "images": []}
    for shape in args.shapes:
        height, width = (int(side) for side in shape.split("x"))
        image = cv2.resize(sample, (width, height), interpolation=cv2.INTER_AREA)
        start = time.perf_counter()
        matte = session.predict(image, args.input_size).matte
        seconds = time.perf_counter() - start
        report["images"].append(
            {"seconds": seconds, "after_mib": resident_mib(), "matte_shape": list(matte.shape)}
        )
    report["peak_mib"] = resident_mib(field="VmHWM")
    print(json.dumps(report))


if __name__ == "__main__":
    main()
