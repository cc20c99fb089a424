"""The work on one photo, in three stages that the engines run on different threads or in one
Ray actor: decode (bytes to RGB), matte (the network), write (foreground colours, cutout,
composite, encoding and atomic writes). A stage that fails marks the photo failed with a
reason, and the later stages pass it on untouched: one bad photo never stops a run."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from modnet import (
    MattingSession,
    cutout,
    estimate_foreground,
    read_background_image,
    replace_background,
    select_device,
)

from .decode import DEFAULT_MAX_MEGAPIXELS, decode_image
from .manifest import Record
from .options import BatchOptions
from .outputs import OutputLayout, encode, write_atomic

# "forward" is the network's own share of "network" (the part a GPU speeds up most).
STAGES = ("read", "decode", "network", "forward", "foreground", "encode", "write")


@dataclass
class Job:
    """A photo on its way through the stages."""

    relative: str
    size: int
    mtime_ns: int
    rgb: np.ndarray | None = None
    matte: np.ndarray | None = None
    converted_from: str | None = None
    outputs: dict[str, str] = field(default_factory=dict)
    error: str | None = None
    seconds: dict[str, float] = field(default_factory=dict)

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        """Times the stage ``name``; an exception inside marks the job failed with a reason."""
        start = time.perf_counter()
        try:
            yield
        except Exception as error:  # any failure of one photo is that photo's alone
            self.error = f"{name}: {error}"
            self.rgb = self.matte = None  # frees the pixels while the job waits in a queue
        finally:
            self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - start

    def record(self, digest: str) -> Record:
        """The manifest record of the finished job."""
        return {
            "path": self.relative,
            "size": self.size,
            "mtime_ns": self.mtime_ns,
            "params": digest,
            "status": "failed" if self.error else "done",
            "reason": self.error,
            "converted_from": self.converted_from,
            "outputs": {} if self.error else self.outputs,
            "seconds": {name: round(value, 6) for name, value in self.seconds.items()},
        }


def create_session(options: BatchOptions) -> MattingSession:
    return MattingSession(
        options.weights,
        device=select_device(options.cuda),
        backend=options.backend,
        cache_dir=options.cache_dir,
        precision=options.precision,
    )


class PhotoWork:
    """The stages for one set of options; ``session`` is created on first use of
    :meth:`matte`, so a Ray actor or a worker thread loads the network only where it runs."""

    def __init__(
        self,
        options: BatchOptions,
        layout: OutputLayout,
        max_megapixels: float = DEFAULT_MAX_MEGAPIXELS,
        session_factory: Callable[[BatchOptions], MattingSession] = create_session,
    ) -> None:
        self.options = options
        self.layout = layout
        self.max_megapixels = max_megapixels
        self._session_factory = session_factory
        self._session: MattingSession | None = None
        self._background = (
            read_background_image(options.background_image)
            if options.background == "image" and "composite" in layout.formats
            else None
        )

    @property
    def session(self) -> MattingSession:
        if self._session is None:
            self._session = self._session_factory(self.options)
        return self._session

    def read(self, job: Job, path: Path) -> bytes:
        """The file's bytes; empty when it cannot be read, the job then carrying the reason."""
        with job.stage("read"):
            return path.read_bytes()
        return b""

    def decode(self, job: Job, data: bytes) -> None:
        if job.error:
            return
        with job.stage("decode"):
            decoded = decode_image(data, self.max_megapixels)
            job.rgb, job.converted_from = decoded.rgb, decoded.converted_from

    def matte(self, job: Job) -> None:
        if job.error:
            return
        with job.stage("network"):
            options = self.options
            timings: dict[str, float] = {}
            result = self.session.predict(job.rgb, options.input_size, timings, options.quality)
            job.matte = result.matte
            job.seconds["forward"] = timings["forward"]

    def write(self, job: Job) -> None:
        """Makes, encodes and writes the chosen outputs, then drops the pixels."""
        if job.error:
            return
        with job.stage("foreground"):
            images = self._images(job.rgb, job.matte)
        if job.error:
            return
        with job.stage("encode"):
            formats = self.layout.formats
            encoded = {kind: encode(image, formats[kind]) for kind, image in images.items()}
        job.rgb = job.matte = None
        if job.error:
            return
        targets = self.layout.targets(job.relative)
        with job.stage("write"):
            for kind, data in encoded.items():
                write_atomic(self.layout.root / targets[kind], data)
            job.outputs = targets

    def _images(self, rgb: np.ndarray, matte: np.ndarray) -> dict[str, np.ndarray]:
        """The chosen outputs' pixels: the cutout and composite as the plugin makes its outputs
        2 and 4, from the estimated foreground colours."""
        images = {"matte": matte} if "matte" in self.layout.formats else {}
        if {"cutout", "composite"}.isdisjoint(self.layout.formats):
            return images
        foreground = estimate_foreground(rgb, matte, self.options.foreground)
        if "cutout" in self.layout.formats:
            images["cutout"] = cutout(foreground, matte)
        if "composite" in self.layout.formats:
            options = self.options
            images["composite"] = replace_background(
                rgb,
                foreground,
                matte,
                options.background,
                options.background_color,
                options.blur_strength,
                self._background,
                rgb=True,
            )
        return images
