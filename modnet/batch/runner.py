"""A batch run, whatever the engine: the inputs, what the manifest says is done, the engine on
the rest, each finished photo recorded as it comes, a progress bar and a summary."""

from __future__ import annotations

import sys
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tqdm import tqdm

from modnet import check_network_threads

from .decode import DEFAULT_MAX_MEGAPIXELS, check_max_megapixels
from .inputs import InputFile, collect_inputs
from .local import process_local
from .manifest import Manifest
from .options import BatchOptions
from .outputs import OutputLayout
from .work import STAGES, Job, PhotoWork

ENGINES = ("local", "ray")
MANIFEST_NAME = "manifest.jsonl"
# The summary lists this many failures by name; the manifest has them all.
LISTED_FAILURES = 100


@dataclass(frozen=True)
class RayOptions:
    """Where and how the Ray engine runs (see :mod:`modnet.batch.ray_engine`)."""

    address: str | None = None
    concurrency: int = 1
    num_cpus: float = 1.0
    num_gpus: float = 0.0
    batch_size: int = 1
    # Threads of each actor's network (None: the CPUs it reserves, at least 1).
    network_threads: int | None = None

    def __post_init__(self) -> None:
        check_network_threads(self.network_threads)
        check_positive("concurrency", self.concurrency)
        check_batch_size(self.batch_size)
        for name in ("num_cpus", "num_gpus"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                raise ValueError(f"{name}: expected a number of 0 or more, got {value!r}")


def check_positive(name: str, value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name}: expected a positive integer, got {value!r}")
    return value


def check_batch_size(batch_size: int) -> int:
    return check_positive("batch_size", batch_size)


def check_engine(engine: str) -> str:
    if engine not in ENGINES:
        raise ValueError(f"engine: expected one of {', '.join(ENGINES)}, got '{engine}'")
    return engine


def run_batch(
    source: str | Path,
    output: str | Path,
    options: BatchOptions,
    *,
    engine: str = "local",
    manifest: str | Path | None = None,
    root: str | Path | None = None,
    threads: int | None = None,
    batch_size: int = 1,
    ray_options: RayOptions | None = None,
    max_megapixels: float = DEFAULT_MAX_MEGAPIXELS,
    progress: bool = True,
) -> dict[str, Any]:
    """Mattes the photos of ``source`` (see :func:`modnet.batch.inputs.collect_inputs`) into
    ``output``; returns the summary. Photos that the manifest (default
    ``output/manifest.jsonl``) records as done with the same options are skipped.
    ``batch_size``: the local engine's photos per network call where the session takes several
    (on a GPU, see :mod:`modnet.batch.grouping`); the Ray engine's is ``ray_options.batch_size``."""
    check_engine(engine)
    check_batch_size(batch_size)
    check_max_megapixels(max_megapixels)
    output = Path(output).expanduser().absolute()
    tree = collect_inputs(source, root, skip=output)
    layout = OutputLayout.for_inputs(
        output,
        {kind: options.formats[kind] for kind in options.outputs},
        (file.relative for file in tree.files),
    )
    digest = options.digest()
    with Manifest(Path(manifest) if manifest is not None else output / MANIFEST_NAME) as log:
        pending = [
            file
            for file in tree.files
            if not log.is_done(file, digest, layout.targets(file.relative), output)
        ]
        work = PhotoWork(options, layout, max_megapixels)
        jobs = _engine_jobs(engine, pending, work, tree.root, threads, batch_size, ray_options)
        tally = Tally()  # started after listing and loading: the throughput of the work
        with tqdm(total=len(pending), unit="img", disable=not progress, file=sys.stderr) as bar:
            for job in jobs:
                log.append(job.record(digest))
                tally.add(job)
                if job.error:
                    bar.write(f"failed: {job.relative}: {job.error}", file=sys.stderr)
                bar.update()
        log.compact()
    return {
        "engine": engine,
        "inputs": len(tree.files),
        "skipped": len(tree.files) - len(pending),
        **tally.summary(),
        "output": str(output),
        "manifest": str(log.path),
    }


@dataclass
class Tally:
    """Counts, failures and stage times of the photos processed so far."""

    start: float = field(default_factory=time.perf_counter)
    counts: Counter[str] = field(default_factory=Counter)
    stage_seconds: Counter[str] = field(default_factory=Counter)
    failures: list[dict[str, str]] = field(default_factory=list)

    def add(self, job: Job) -> None:
        self.counts["failed" if job.error else "done"] += 1
        self.counts["converted"] += job.converted_from is not None
        self.stage_seconds.update(job.seconds)
        if job.error and len(self.failures) < LISTED_FAILURES:
            self.failures.append({"path": job.relative, "reason": job.error})

    def summary(self) -> dict[str, Any]:
        seconds = time.perf_counter() - self.start
        processed = self.counts["done"] + self.counts["failed"]
        return {
            "done": self.counts["done"],
            "failed": self.counts["failed"],
            "converted": self.counts["converted"],
            "failures": self.failures,
            "seconds": round(seconds, 3),
            "images_per_second": round(processed / seconds, 3) if processed else 0.0,
            # Summed over photos: with stages overlapping, more than ``seconds`` in all.
            "stage_seconds": {stage: round(self.stage_seconds[stage], 3) for stage in STAGES},
        }


def _engine_jobs(
    engine: str,
    pending: Sequence[InputFile],
    work: PhotoWork,
    input_root: Path,
    threads: int | None,
    batch_size: int,
    ray_options: RayOptions | None,
) -> Iterator[Job]:
    if not pending:
        return iter(())
    if engine == "local":
        return process_local(pending, work, threads, batch_size=batch_size)
    from .ray_engine import process_ray  # Ray is an optional extra

    return process_ray(pending, work, input_root, ray_options or RayOptions())
