"""The worker threads of the work around the network: results in order, errors raised, one
thread when OpenCV has one, no deadlock when a worker maps work itself, a new pool after a fork."""

from __future__ import annotations

import threading

import cv2
import pytest

import modnet.workers
from modnet.workers import map_work, work_threads


def current_thread_name(_: object) -> str:
    return threading.current_thread().name


def test_results_keep_the_order_of_the_items(opencv_threads: None) -> None:
    cv2.setNumThreads(3)
    assert work_threads() == 3
    assert map_work(lambda value: value * value, range(50)) == [
        value * value for value in range(50)
    ]


def test_calls_run_on_the_worker_threads(opencv_threads: None) -> None:
    cv2.setNumThreads(2)
    names = map_work(current_thread_name, range(8))
    assert all(name.startswith("modnet-work") for name in names)


def test_one_opencv_thread_runs_everything_on_the_caller(opencv_threads: None) -> None:
    cv2.setNumThreads(1)
    assert work_threads() == 1
    assert set(map_work(current_thread_name, range(8))) == {threading.current_thread().name}


def test_the_first_error_is_raised(opencv_threads: None) -> None:
    cv2.setNumThreads(2)

    def fail_on_three(value: int) -> int:
        if value == 3:
            raise ValueError("three")
        return value

    with pytest.raises(ValueError, match="three"):
        map_work(fail_on_three, range(6))


def test_a_worker_mapping_work_runs_it_itself(opencv_threads: None) -> None:
    # Two workers each waiting for a queue that only they serve would never return.
    cv2.setNumThreads(2)
    results: list[list[list[tuple[int, int]]]] = []
    caller = threading.Thread(
        target=lambda: results.append(
            map_work(lambda outer: map_work(lambda inner: (outer, inner), range(3)), range(4))
        ),
        daemon=True,
    )
    caller.start()
    caller.join(timeout=60)

    assert results == [[[(outer, inner) for inner in range(3)] for outer in range(4)]]


def test_a_new_pool_in_a_forked_child_and_for_another_count(
    opencv_threads: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    cv2.setNumThreads(2)
    map_work(current_thread_name, range(2))
    pool = modnet.workers._pool

    monkeypatch.setattr(modnet.workers.os, "getpid", lambda: -1)  # as in a forked child
    assert map_work(lambda value: value + 1, range(4)) == [1, 2, 3, 4]
    child_pool = modnet.workers._pool
    assert child_pool is not pool

    cv2.setNumThreads(3)
    map_work(current_thread_name, range(2))
    assert modnet.workers._pool is not child_pool
