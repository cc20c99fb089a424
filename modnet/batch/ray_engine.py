"""The Ray engine: the same per-photo work on every node of a Ray cluster, through Ray Data.

``ray.data.read_binary_files(paths, include_paths=True)`` reads the photos in Ray's read tasks;
``map_batches`` hands them to a pool of actors (``concurrency`` actors, each reserving
``num_cpus`` and ``num_gpus``) that each load the network once and run decode, network and
write on ``batch_size`` photos at a time, writing the outputs under their relative paths; the
driver receives one small row per photo and appends it to the manifest, so that resuming works
as with the local engine.

Each actor runs :data:`CALLS_PER_ACTOR` calls at once, as the local engine runs its stages on
threads of their own: one call decodes while another is in the network and a third encodes and
writes; the network takes one call at a time. Its CPU runtime uses ``network_threads`` threads
(default: the cores the actor reserves), and OpenCV as many, so that actors sharing a node do
not each take every core (see :mod:`modnet.runtime.threads` and :mod:`modnet.workers`).

Every node must see the inputs, the outputs and the weights at the same paths (a shared
filesystem). When the engine connects to Ray itself, it ships the ``modnet`` package to the
workers (``py_modules``); a caller that has called ``ray.init`` already must do the same on a
cluster (on one machine, Ray workers find it on the driver's ``sys.path``). Its dependencies
must be installed on every node. Ray is optional: ``extras/ray.txt``.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import cv2
import numpy as np

from modnet import set_network_threads

from .grouping import matte_jobs
from .inputs import InputFile
from .options import BatchOptions
from .outputs import OutputLayout
from .work import Job, PhotoWork

if TYPE_CHECKING:
    from .runner import RayOptions

PACKAGE = Path(__file__).resolve().parents[1]  # the modnet package, shipped to the workers
RAY_EXTRA = "extras/ray.txt"
# Decoding, network and writing overlap in an actor as in the local engine's three stages.
CALLS_PER_ACTOR = 3


def import_ray() -> Any:
    try:
        import ray
        import ray.data
    except ImportError:
        raise ImportError(
            "engine: 'ray' needs Ray Data, which is not installed; install it with "
            f"'python -m pip install -r {RAY_EXTRA}' or use --engine local"
        ) from None
    return ray


class MatteActor:
    """One per Ray actor: loads the network once, then mattes the batches it is given, up to
    :data:`CALLS_PER_ACTOR` at once, one of them in the network."""

    def __init__(
        self,
        options: BatchOptions,
        layout: OutputLayout,
        max_megapixels: float,
        input_root: str,
        network_threads: int,
    ) -> None:
        set_network_threads(network_threads)
        # OpenCV's threads, and with them those of the work around the network
        # (modnet.workers), take the same share of the node.
        cv2.setNumThreads(network_threads)
        self.work = PhotoWork(options, layout, max_megapixels)
        self.work.session  # noqa: B018 (loads the network before the first batch)
        self.input_root = Path(input_root)
        self.network = threading.Lock()

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, list[Any]]:
        jobs = []
        for path, data in zip(batch["path"], batch["bytes"], strict=True):
            # Size and modification time are the driver's, from when it listed the inputs.
            job = Job(Path(path).relative_to(self.input_root).as_posix(), -1, -1)
            self.work.decode(job, bytes(data))
            jobs.append(job)
        with self.network:
            matte_jobs(self.work, jobs, len(jobs))
        for job in jobs:
            self.work.write(job)
        return {
            "relative": [job.relative for job in jobs],
            "error": [job.error or "" for job in jobs],
            "converted_from": [job.converted_from or "" for job in jobs],
            # JSON strings: Arrow columns of dicts with varying keys would need a schema.
            "outputs": [json.dumps(job.outputs) for job in jobs],
            "seconds": [json.dumps(job.seconds) for job in jobs],
        }


def network_threads_for(ray_options: RayOptions) -> int:
    """The threads of each actor's network: as given, or the CPUs it reserves (at least 1)."""
    return ray_options.network_threads or max(1, int(ray_options.num_cpus))


def process_ray(
    files: Sequence[InputFile], work: PhotoWork, input_root: Path, ray_options: RayOptions
) -> Iterator[Job]:
    """Runs ``work`` on ``files`` with Ray Data; the returned iterator yields each job as its
    row reaches the driver. Connects to ``ray_options.address`` (``auto``: the cluster this
    machine belongs to) or, without one, starts a local Ray instance, before it returns (as the
    local engine loads its network: the run's throughput counts the work), and stops an
    instance it started at the end."""
    ray = import_ray()
    readable = {str(file.path): file for file in files if _readable(file)}
    started = bool(readable) and not ray.is_initialized()
    if started:
        ray.init(
            address=ray_options.address,
            runtime_env={"py_modules": [str(PACKAGE)]},
            include_dashboard=False,
            log_to_driver=False,
        )
    return _jobs(ray, files, readable, work, input_root, ray_options, started)


def _jobs(
    ray: Any,
    files: Sequence[InputFile],
    readable: dict[str, InputFile],
    work: PhotoWork,
    input_root: Path,
    ray_options: RayOptions,
    started: bool,
) -> Iterator[Job]:
    for file in files:
        if str(file.path) not in readable:
            yield Job(
                file.relative,
                file.size,
                file.mtime_ns,
                error=f"read: cannot read '{file.path}' (missing or not readable)",
            )
    if not readable:
        return
    try:
        yield from _rows_to_jobs(ray, readable, work, input_root, ray_options)
    finally:
        if started:
            ray.shutdown()


def _rows_to_jobs(
    ray: Any,
    readable: dict[str, InputFile],
    work: PhotoWork,
    input_root: Path,
    ray_options: RayOptions,
) -> Iterator[Job]:
    ray.data.DataContext.get_current().enable_progress_bars = False  # the runner shows its own
    by_relative = {file.relative: file for file in readable.values()}
    # Reading is waiting on storage: were it to reserve a CPU, actors holding every CPU of a
    # node would starve the reads that feed them. Reserving none, as many read tasks would run
    # at once as there are files, each in a worker process of its own: one per actor is enough
    # to feed it.
    reads = ray.data.read_binary_files(
        list(readable), include_paths=True, num_cpus=0, concurrency=ray_options.concurrency
    )
    dataset = reads.map_batches(
        MatteActor,
        fn_constructor_kwargs={
            "options": work.options,
            "layout": work.layout,
            "max_megapixels": work.max_megapixels,
            "input_root": str(input_root),
            "network_threads": network_threads_for(ray_options),
        },
        compute=ray.data.ActorPoolStrategy(
            size=ray_options.concurrency,
            max_concurrent_calls_per_actor=CALLS_PER_ACTOR,
            # No batches queued beyond those running: the first actor ready would otherwise
            # take twice its share of a short run while the others start.
            max_tasks_in_flight_per_actor=CALLS_PER_ACTOR,
            # Calls run at once in the actor's threads, not only their batching: the network
            # lock is the actor's own.
            enable_true_multi_threading=True,
        ),
        num_cpus=ray_options.num_cpus,
        num_gpus=ray_options.num_gpus,
        batch_size=ray_options.batch_size,
    )
    for batch in dataset.iter_batches(batch_size=None, batch_format="numpy"):
        for relative, error, converted, outputs, seconds in zip(
            batch["relative"],
            batch["error"],
            batch["converted_from"],
            batch["outputs"],
            batch["seconds"],
            strict=True,
        ):
            file = by_relative[str(relative)]
            yield Job(
                file.relative,
                file.size,
                file.mtime_ns,
                converted_from=str(converted) or None,
                outputs=json.loads(str(outputs)),
                error=str(error) or None,
                seconds=json.loads(str(seconds)),
            )


def _readable(file: InputFile) -> bool:
    """Whether Ray can read the file: one it cannot would fail the whole dataset, so such
    files are recorded as failed by the driver instead."""
    return file.size >= 0 and os.access(file.path, os.R_OK)
