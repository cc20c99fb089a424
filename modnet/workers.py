"""Threads for the work around the network, which would otherwise run on one core.

NumPy and OpenCV release Python's lock inside their loops, so independent pieces of an image
(blocks of rows, colour planes) run side by side on the cores that the network has just left
idle. There are as many threads as OpenCV's own (``cv2.setNumThreads``; at 1, or 0, everything
runs on the calling thread): one setting for all of the work around the network.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import cv2

Item = TypeVar("Item")
Result = TypeVar("Result")

_PREFIX = "modnet-work"
_lock = threading.Lock()
_pool: ThreadPoolExecutor | None = None
_pool_key: tuple[int, int] = (0, 0)  # (process id, threads) the pool was made for


def work_threads() -> int:
    """Threads that :func:`map_work` uses: OpenCV's number of threads, at least 1."""
    return max(1, cv2.getNumThreads())


def map_work(function: Callable[[Item], Result], items: Iterable[Item]) -> list[Result]:
    """``[function(item) for item in items]``, the calls spread over the worker threads.

    The calls must be independent (they run in any order, at the same time); the results keep
    the items' order, and the first exception raised by a call is raised here. A call made from
    a worker thread runs its items itself: a worker waiting for the others' queue could wait
    for ever.
    """
    items = list(items)
    threads = work_threads()
    if threads == 1 or len(items) < 2 or threading.current_thread().name.startswith(_PREFIX):
        return [function(item) for item in items]
    return list(_executor(threads).map(function, items))


def _executor(threads: int) -> ThreadPoolExecutor:
    """The pool of ``threads`` workers, made again when the number changes and in a forked
    child (which inherits the pool but not its threads)."""
    global _pool, _pool_key
    key = (os.getpid(), threads)
    with _lock:
        if _pool is None or _pool_key != key:
            # A replaced pool's threads end once no caller holds it any more.
            _pool = ThreadPoolExecutor(threads, thread_name_prefix=_PREFIX)
            _pool_key = key
        return _pool
