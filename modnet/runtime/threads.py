"""How many threads a CPU runtime gives one network pass, for the whole process.

By default each runtime picks its own (ONNX Runtime and OpenVINO: every core; PyTorch: every
core, or ``OMP_NUM_THREADS``). A process that runs one of several networks side by side on one
machine (a Ray actor of the batch runner, reserving a share of the cores) sets its share here
before it creates its session: sessions that each take every core spin against each other. A
setting of the process rather than a session argument, because it divides the process's
resources, as ``torch.set_num_threads`` does.
"""

from __future__ import annotations

_threads: int | None = None


def check_network_threads(threads: int | None) -> int | None:
    if threads is not None and (
        isinstance(threads, bool) or not isinstance(threads, int) or threads < 1
    ):
        raise ValueError(
            f"network_threads: expected a positive integer or None (the runtime's default), "
            f"got {threads!r}"
        )
    return threads


def set_network_threads(threads: int | None) -> None:
    """Threads of each network pass in sessions created from now on; None: each runtime's own
    default."""
    global _threads
    _threads = check_network_threads(threads)


def network_threads() -> int | None:
    return _threads
