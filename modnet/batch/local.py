"""The local engine: threads that decode and write while the network runs, joined by bounded
queues so that memory holds a few photos at a time, however many are waiting.

One thread runs the network (ONNX Runtime, OpenVINO and PyTorch use every core for one image;
a second network thread would only compete with the first). ``threads`` threads decode ahead of
it and as many write behind it; each queue between stages holds at most ``queue_depth`` photos
(or ``batch_size``). Where the session mattes several photos in one call (on a GPU, see
:mod:`modnet.batch.grouping`), the network thread takes the photos decoded so far, up to
``batch_size``, together.
"""

from __future__ import annotations

import os
import queue
import threading
from collections.abc import Callable, Iterator, Sequence

from .grouping import batch_predictor, matte_jobs
from .inputs import InputFile
from .work import Job, PhotoWork

DEFAULT_QUEUE_DEPTH = 2
# Marks the end of a queue's work; one per consumer thread.
_END = None


def default_threads() -> int:
    """Decoding and writing threads each: half the cores (the network takes the rest), 1 to 4."""
    return max(1, min(4, (os.cpu_count() or 2) // 2))


def check_threads(threads: int) -> int:
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        raise ValueError(f"threads: expected a positive integer, got {threads!r}")
    return threads


def process_local(
    files: Sequence[InputFile],
    work: PhotoWork,
    threads: int | None = None,
    queue_depth: int = DEFAULT_QUEUE_DEPTH,
    batch_size: int = 1,
) -> Iterator[Job]:
    """Runs the stages of ``work`` on ``files``; the returned iterator yields each job when it
    is finished, in the order they finish. The network is loaded before this returns, so that a
    weights or backend error stops the run rather than failing every photo."""
    threads = check_threads(threads) if threads is not None else default_threads()
    # Loads the network now (see above); photos are taken together only where it gains.
    batch_size = batch_size if batch_predictor(work.session) is not None else 1
    return _pipeline(files, work, threads, max(queue_depth, batch_size), batch_size)


def _pipeline(
    files: Sequence[InputFile], work: PhotoWork, threads: int, queue_depth: int, batch_size: int
) -> Iterator[Job]:
    todo: queue.Queue[InputFile | None] = queue.Queue()
    decoded: queue.Queue[Job | None] = queue.Queue(maxsize=queue_depth)
    matted: queue.Queue[Job | None] = queue.Queue(maxsize=queue_depth)
    finished: queue.Queue[Job | BaseException | None] = queue.Queue()
    for file in files:
        todo.put(file)

    def decode() -> None:
        while (file := todo.get()) is not _END:
            job = Job(file.relative, file.size, file.mtime_ns)
            work.decode(job, work.read(job, file.path))
            decoded.put(job)

    def network() -> None:
        ended = False
        while not ended:
            jobs, ended = _take(decoded, batch_size)
            matte_jobs(work, jobs, batch_size)
            for job in jobs:
                matted.put(job)

    def write() -> None:
        while (job := matted.get()) is not _END:
            work.write(job)
            finished.put(job)

    decoders = _start(decode, threads, finished)
    networks = _start(network, 1, finished)
    writers = _start(write, threads, finished)
    # Each stage's end is announced to the next once all its threads are done.
    _then(decoders, lambda: decoded.put(_END))
    _then(networks, lambda: [matted.put(_END) for _ in writers])
    _then(writers, lambda: finished.put(_END))
    for _ in decoders:
        todo.put(_END)
    while (item := finished.get()) is not _END:
        if isinstance(item, BaseException):
            raise item
        yield item


def _take(source: queue.Queue[Job | None], count: int) -> tuple[list[Job], bool]:
    """The next job (waiting for it) and those already waiting, up to ``count``; and whether
    the end of the queue was reached."""
    jobs: list[Job] = []
    item = source.get()
    while item is not _END:
        jobs.append(item)
        if len(jobs) == count:
            return jobs, False
        try:
            item = source.get_nowait()
        except queue.Empty:
            return jobs, False
    return jobs, True


def _start(target: Callable[[], None], count: int, failures: queue.Queue) -> list[threading.Thread]:
    """``count`` daemon threads running ``target``; an unexpected exception (a bug: photo
    failures are caught in the stages) is passed to the consumer, which raises it."""

    def run() -> None:
        try:
            target()
        except BaseException as error:  # re-raised in the consuming thread
            failures.put(error)

    started = [threading.Thread(target=run, daemon=True) for _ in range(count)]
    for thread in started:
        thread.start()
    return started


def _then(threads: list[threading.Thread], action: Callable[[], object]) -> None:
    """Runs ``action`` once all ``threads`` have ended."""

    def wait() -> None:
        for thread in threads:
            thread.join()
        action()

    threading.Thread(target=wait, daemon=True).start()
