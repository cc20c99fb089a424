"""The Ray engine: the same per-photo work on every node of a Ray cluster, through Ray Data.

``ray.data.read_binary_files(paths, include_paths=True)`` reads the photos in Ray's read tasks;
``map_batches`` hands them to a pool of actors (``concurrency`` actors, each reserving
``num_cpus`` and ``num_gpus``) that each load the network once and run decode, network and
write on ``batch_size`` photos at a time, writing the outputs under their relative paths; the
driver receives one small row per photo and appends it to the manifest, so that resuming works
as with the local engine.

Every node must see the inputs, the outputs and the weights at the same paths (a shared
filesystem). When the engine connects to Ray itself, it ships the ``modnet`` package to the
workers (``py_modules``); a caller that has called ``ray.init`` already must do the same on a
cluster (on one machine, Ray workers find it on the driver's ``sys.path``). Its dependencies
must be installed on every node. Ray is optional: ``extras/ray.txt``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .inputs import InputFile
from .options import BatchOptions
from .outputs import OutputLayout
from .work import Job, PhotoWork

if TYPE_CHECKING:
    from .runner import RayOptions

PACKAGE = Path(__file__).resolve().parents[1]  # the modnet package, shipped to the workers
RAY_EXTRA = "extras/ray.txt"


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
    """One per Ray actor: loads the network once, then mattes the batches it is given."""

    def __init__(
        self,
        options: BatchOptions,
        layout: OutputLayout,
        max_megapixels: float,
        input_root: str,
    ) -> None:
        self.work = PhotoWork(options, layout, max_megapixels)
        self.work.session  # noqa: B018 (loads the network before the first batch)
        self.input_root = Path(input_root)

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, list[Any]]:
        rows: dict[str, list[Any]] = {
            "relative": [],
            "error": [],
            "converted_from": [],
            "outputs": [],
            "seconds": [],
        }
        for path, data in zip(batch["path"], batch["bytes"], strict=True):
            relative = Path(path).relative_to(self.input_root).as_posix()
            # Size and modification time are the driver's, from when it listed the inputs.
            job = self.work.process(Job(relative, -1, -1), bytes(data))
            rows["relative"].append(relative)
            rows["error"].append(job.error or "")
            rows["converted_from"].append(job.converted_from or "")
            # JSON strings: Arrow columns of dicts with varying keys would need a schema.
            rows["outputs"].append(json.dumps(job.outputs))
            rows["seconds"].append(json.dumps(job.seconds))
        return rows


def process_ray(
    files: Sequence[InputFile], work: PhotoWork, input_root: Path, ray_options: RayOptions
) -> Iterator[Job]:
    """Runs ``work`` on ``files`` with Ray Data; yields each job as its row reaches the
    driver. Connects to ``ray_options.address`` (``auto``: the cluster this machine belongs
    to) or, without one, starts a local Ray instance and stops it at the end."""
    ray = import_ray()
    readable = {str(file.path): file for file in files if _readable(file)}
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
    started = not ray.is_initialized()
    if started:
        ray.init(
            address=ray_options.address,
            runtime_env={"py_modules": [str(PACKAGE)]},
            include_dashboard=False,
            log_to_driver=False,
        )
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
    # node would starve the reads that feed them.
    reads = ray.data.read_binary_files(list(readable), include_paths=True, num_cpus=0)
    dataset = reads.map_batches(
        MatteActor,
        fn_constructor_kwargs={
            "options": work.options,
            "layout": work.layout,
            "max_megapixels": work.max_megapixels,
            "input_root": str(input_root),
        },
        compute=ray.data.ActorPoolStrategy(size=ray_options.concurrency),
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
