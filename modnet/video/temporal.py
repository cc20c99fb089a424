"""Frame-to-frame filters that steady the mattes of a video.

A filter receives the frames of one stream in order, each as its image (RGB uint8, H x W x 3)
and per-frame matte (uint8, H x W), through ``push``, and gives back filtered mattes in the
same order, ``delay`` frames behind: a filter that needs the next frame (``delay`` 1) returns
frame t's matte when frame t + 1 is pushed. ``flush`` returns the frames still held at the end
of the stream, and ``reset`` forgets the stream. A frame of another size starts a new stream
by itself.

Filters copy whatever they keep: the caller may overwrite its buffers after each call. The
mattes they return are theirs to keep too (never written again by the filter).
"""

from __future__ import annotations

import os
import threading
from abc import ABC, abstractmethod
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor

import cv2
import numpy as np

TEMPORAL_METHODS = ("none", "ofd", "stable")
# Threads that compute the optical flow of frames told in advance (FlowAverage.prefetch).
FLOW_WORKERS = min(4, os.cpu_count() or 1)

# The MODNet paper's OFD threshold, xi = 0.1 on alphas in [0, 1], on uint8 mattes:
# |a - b| <= 0.1 <=> |a - b| <= 25.5 grey levels <=> |a - b| <= 25 for integers.
OFD_XI = 0.1
_OFD_LEVELS = int(OFD_XI * 255)


def check_temporal(method: str) -> str:
    if method not in TEMPORAL_METHODS:
        raise ValueError(f"temporal: expected one of {', '.join(TEMPORAL_METHODS)}, got '{method}'")
    return method


class MatteFilter(ABC):
    """A stream of (image, matte) in, a stream of filtered mattes out, ``delay`` frames behind."""

    delay: int = 0

    @abstractmethod
    def push(self, image: np.ndarray, matte: np.ndarray) -> np.ndarray | None:
        """Takes the next frame; returns the filtered matte of the frame ``delay`` frames
        before it, or None while the first frames of a stream fill the delay."""

    def flush(self) -> list[np.ndarray]:
        """The filtered mattes of the frames still held, oldest first; then a new stream."""
        return []

    def prefetch(self, frames: list[np.ndarray]) -> None:  # noqa: B027 (most filters need none)
        """Told the frames that will be pushed next, in order, so that the work that needs
        only the frames can start at once (the caller may reuse its buffers after the call)."""

    @abstractmethod
    def reset(self) -> None:
        """Forgets the stream, dropping any frame still held."""


class PerFrame(MatteFilter):
    """``none``: every matte unchanged (the very array pushed), no state."""

    def push(self, image: np.ndarray, matte: np.ndarray) -> np.ndarray:
        return matte

    def reset(self) -> None:
        pass


class OneFrameDelay(MatteFilter):
    """``ofd``: the MODNet paper's one-frame delay (Ke et al., AAAI 2022).

    Per pixel, where the per-frame mattes of frames t - 1 and t + 1 agree within xi = 0.1
    (alphas in [0, 1]) and frame t's differs from both by more than xi, frame t's matte becomes
    the mean of its neighbours' (rounded half up on uint8); elsewhere it is kept. The
    neighbours are the per-frame mattes, not filtered ones. The first and last frames of a
    stream, which lack a neighbour, are kept as they are. Needs the next frame: ``delay`` 1.
    """

    delay = 1

    def __init__(self) -> None:
        self._before: np.ndarray | None = None  # frame t - 1's per-frame matte
        self._held: np.ndarray | None = None  # frame t's, waiting for frame t + 1

    def push(self, image: np.ndarray, matte: np.ndarray) -> np.ndarray | None:
        following = np.array(matte, dtype=np.uint8, copy=True)
        held, before = self._held, self._before
        if held is not None and held.shape != following.shape:
            # A new stream begins: the held frame was the last of its own.
            self._before, self._held = None, following
            return held
        self._before, self._held = held, following
        if held is None:
            return None
        if before is None:
            return held.copy()  # the first frame; ``held`` stays as the next one's neighbour
        return one_frame_delay(before, held, following)

    def flush(self) -> list[np.ndarray]:
        held = self._held
        self.reset()
        return [] if held is None else [held]

    def reset(self) -> None:
        self._before = self._held = None


def one_frame_delay(before: np.ndarray, matte: np.ndarray, after: np.ndarray) -> np.ndarray:
    """The OFD rule on uint8 mattes of frames t - 1, t and t + 1: frame t's filtered matte."""
    b, m, a = (x.astype(np.int16) for x in (before, matte, after))
    replace = (np.abs(b - a) <= _OFD_LEVELS) & (np.abs(m - b) > _OFD_LEVELS)
    replace &= np.abs(m - a) > _OFD_LEVELS
    out = matte.copy()
    out[replace] = ((b + a + 1) >> 1)[replace]
    return out


class FlowAverage(MatteFilter):
    """``stable``: each new matte averaged with the previous result carried along the optical
    flow, wherever the colours confirm where each pixel came from. Causal: no delay, so live
    streams get it at no latency.

    For frame t:

    1. Optical flow from frame t to frame t - 1: OpenCV's DIS (preset ULTRAFAST, down to its
       finest pyramid level) on the grey frames shrunk ``flow_scale`` times, then enlarged.
    2. Two candidates for where each pixel was in frame t - 1: where the flow points, or the
       same place (still backgrounds, onto which the flow of a moving neighbour bleeds). Each
       one's colour error, |RGB_t - RGB_t-1 at the candidate| averaged over the channels and
       a ``box`` x ``box`` square at full resolution, picks the better one; a flow that points
       out of the frame (what just came into view) is no candidate.
    3. The weight of the past, ``w = history * exp(-(error / sigma)^2)``: ``history`` where the
       colours match, falling to 0 where they do not (occlusions, uncovered background, flow
       errors, cuts), so that the matte does not drag behind what the frame shows.

    The previous result is resampled at the chosen candidate (bicubic, which keeps edges sharp
    over many frames where bilinear would soften them) and the result is
    ``matte + w * (previous - matte)``, kept in float32 for the next frame.

    The flow needs only the frames: for frames told in advance (:meth:`prefetch`, a video read
    ahead while a GPU mattes it) it is computed on worker threads, and used when the frames
    pushed are those frames; the result is the same.
    """

    def __init__(
        self, flow_scale: int = 2, history: float = 0.75, sigma: float = 12.0, box: int = 9
    ) -> None:
        self.flow_scale = flow_scale
        self.history = history
        self.sigma = sigma
        self.box = box
        self._flow = _dis()
        self._pool: ThreadPoolExecutor | None = None
        # Flows of frames told in advance: (previous grey, grey, flow), oldest first.
        self._prefetched: deque[tuple[np.ndarray, np.ndarray, Future[np.ndarray]]] = deque()
        self.reset()

    def reset(self) -> None:
        self._result: np.ndarray | None = None  # float32 H x W: the last filtered matte
        self._image: np.ndarray | None = None  # a copy of the last frame, RGB uint8
        self._grey: np.ndarray | None = None  # the last frame, shrunk, in grey
        self._grid: np.ndarray | None = None  # H x W x 2 float32: the (x, y) of each pixel
        for *_, flow in self._prefetched:
            flow.cancel()
        self._prefetched.clear()

    def prefetch(self, frames: list[np.ndarray]) -> None:
        greys = [self._small_grey(frame) for frame in frames]
        if self._pool is None:
            self._pool = ThreadPoolExecutor(FLOW_WORKERS, thread_name_prefix="modnet-flow")
        for frame, before, grey in zip(frames, [self._grey, *greys[:-1]], greys, strict=True):
            if before is not None and before.shape == grey.shape:
                size = frame.shape[:2]
                flow = self._pool.submit(_flow_on_worker, grey, before, size)
                self._prefetched.append((before, grey, flow))

    def push(self, image: np.ndarray, matte: np.ndarray) -> np.ndarray:
        if image.shape[:2] != matte.shape:
            raise ValueError(f"image {image.shape[:2]} and matte {matte.shape}: sizes differ")
        grey = self._small_grey(image)
        alpha = matte.astype(np.float32)
        if self._result is None or self._result.shape != matte.shape:
            self._grid = _pixel_grid(*matte.shape)
        else:
            alpha = self._average(image, alpha, grey)
        self._result, self._grey = alpha, grey
        self._image = image.copy()
        return np.rint(alpha).astype(np.uint8)

    def _small_grey(self, image: np.ndarray) -> np.ndarray:
        """The frame in grey, shrunk ``flow_scale`` times as far as DIS still takes it."""
        height, width = image.shape[:2]
        scale = self.flow_scale
        if not _dis_takes(round(height / scale), round(width / scale)):
            scale = 1
        small = (max(1, round(width / scale)), max(1, round(height / scale)))
        return cv2.cvtColor(
            cv2.resize(image, small, interpolation=cv2.INTER_AREA), cv2.COLOR_RGB2GRAY
        )

    def _prefetched_flow(self, grey: np.ndarray) -> np.ndarray | None:
        """The flow computed ahead from the last frame's grey to ``grey``, if one was; flows
        of other frames before it are dropped."""
        while self._prefetched:
            before, after, flow = self._prefetched.popleft()
            if np.array_equal(before, self._grey) and np.array_equal(after, grey):
                return flow.result()
            flow.cancel()
        return None

    def _average(self, image: np.ndarray, alpha: np.ndarray, grey: np.ndarray) -> np.ndarray:
        height, width = alpha.shape
        flow = self._prefetched_flow(grey)
        if flow is None:
            flow = _flow(self._flow, grey, self._grey, (height, width))
        source = self._grid + flow * np.float32(width / grey.shape[1])
        moved = self._colour_error(image, self._remap(self._image, source, cv2.INTER_LINEAR))
        still = self._colour_error(image, self._image)
        inside = cv2.inRange(source, (0.0, 0.0), (width - 1.0, height - 1.0))
        moved[inside == 0] = np.inf
        follow = moved < still
        error = np.minimum(moved, still)
        weight = self.history * np.exp(-np.square(error * np.float32(1.0 / self.sigma)))
        carried = self._remap(self._result, source, cv2.INTER_CUBIC)
        previous = np.where(follow, carried, self._result)
        return np.clip(alpha + weight * (previous - alpha), 0.0, 255.0)

    @staticmethod
    def _remap(image: np.ndarray, source: np.ndarray, interpolation: int) -> np.ndarray:
        return cv2.remap(image, source, None, interpolation, borderMode=cv2.BORDER_REPLICATE)

    def _colour_error(self, image: np.ndarray, previous: np.ndarray) -> np.ndarray:
        """Mean absolute RGB difference over a ``box`` x ``box`` square, float32."""
        error = cv2.transform(cv2.absdiff(image, previous).astype(np.float32), _CHANNEL_MEAN)
        return cv2.blur(error, (self.box, self.box))


_CHANNEL_MEAN = np.full((1, 3), 1.0 / 3.0, np.float32)
# A DIS of each worker thread: one computes one flow at a time.
_WORKER = threading.local()


def _dis() -> cv2.DISOpticalFlow:
    dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST)
    dis.setFinestScale(0)  # down to the finest pyramid level
    return dis


def _flow(
    dis: cv2.DISOpticalFlow, grey: np.ndarray, before: np.ndarray, size: tuple[int, ...]
) -> np.ndarray:
    """H x W x 2 float32, ``size`` (H, W): where each pixel of the frame of ``grey`` was in the
    frame of ``before`` (both shrunk alike), in pixels of the shrunk frames."""
    height, width = size
    if not _dis_takes(*grey.shape):  # too small for DIS: only the "same place" candidate
        return np.zeros((height, width, 2), np.float32)
    flow = dis.calc(grey, before, None)  # frame t pixel -> t - 1 position
    return cv2.resize(flow, (width, height), interpolation=cv2.INTER_LINEAR)


def _flow_on_worker(grey: np.ndarray, before: np.ndarray, size: tuple[int, ...]) -> np.ndarray:
    if not hasattr(_WORKER, "dis"):
        _WORKER.dis = _dis()
    return _flow(_WORKER.dis, grey, before, size)


def _dis_takes(height: int, width: int) -> bool:
    """Whether OpenCV's DIS computes a flow for frames of this size: it refuses those with a
    side under its 8-pixel patch, or with both sides under 12."""
    return min(height, width) >= 8 and max(height, width) >= 12


def _pixel_grid(height: int, width: int) -> np.ndarray:
    """H x W x 2 float32: the (x, y) of each pixel, the identity map of ``cv2.remap``."""
    x, y = np.meshgrid(np.arange(width, dtype=np.float32), np.arange(height, dtype=np.float32))
    return np.dstack((x, y))


def create_filter(method: str) -> MatteFilter:
    """A new filter for ``method``: ``none``, ``ofd`` or ``stable``."""
    filters = {"none": PerFrame, "ofd": OneFrameDelay, "stable": FlowAverage}
    return filters[check_temporal(method)]()
