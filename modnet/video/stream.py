"""Mattes of a stream of frames, one frame per call, steadied by a temporal filter
(:mod:`modnet.video.temporal`) across calls, as a video task receives them.

Frames come from one of three kinds of source:

- unrelated arrays: ``auto`` means ``none``, every matte per frame (a caller passes ``none``
  for photos, which no method may change);
- a video file (``position`` given: the file and the frame's index in it): ``auto`` means
  ``stable``. A method that needs the next frame (``ofd``) reads it ahead from the file with a
  decoder of its own and mattes it at once, and the next call reuses that matte: every call
  answers with its own frame, no frame is matted twice, and the file's first and last frames
  are handled like the others;
- a live stream (arrays of a camera loop, opted in with ``stable`` or ``ofd``; a video source
  that is not a file): no next frame to read, so ``ofd`` answers each call with the previous
  call's frame, one frame of latency, and the first call of a stream with its own frame, which
  OFD leaves as it is.

A stream goes on while the method, the matte settings, the frame size and the source stay the
same and, in a file, while each frame follows the previous one; anything else starts a new
stream, and the filter forgets the past. In a live stream, a frame identical to the previous
one is that frame again, not the next one (an application that runs again on the frame it
shows, after a change of what is made from the matte): it gets the previous answer again, and
the filter does not move. Whatever is kept between calls is a copy: callers may reuse their
buffers.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable, Hashable
from dataclasses import dataclass

import cv2
import numpy as np

from ..pipeline.session import MattingResult
from .temporal import TEMPORAL_METHODS, MatteFilter, create_filter

logger = logging.getLogger(__name__)

TEMPORAL_CHOICES = ("auto", *TEMPORAL_METHODS)
DEFAULT_TEMPORAL = "auto"
# Two decoders of one file may give slightly different pixels: OpenCV builds with other FFmpeg
# versions (pip's opencv-python imported before Ikomia's, for one) convert the same H.264 frame
# to RGB differently (on talking_720p.mp4: 1.3 grey levels on average, 11 at most, more than
# consecutive frames of a talking head differ). Frames read ahead are therefore matched by
# their position in the file, and their pixels only checked to be the same picture: at most
# this mean absolute difference, in grey levels.
SAME_PICTURE_TOLERANCE = 3.0

Predict = Callable[[np.ndarray], MattingResult]
# Mattes several images at once (MattingSession.predict_batch on a device).
PredictBatch = Callable[[list[np.ndarray]], list[MattingResult]]
# Frames of a file read ahead and matted together when a ``predict_batch`` is given.
READ_AHEAD = 8


def resolve_temporal(temporal: str, video: bool) -> str:
    """The method that ``temporal`` means: ``auto`` is ``stable`` on video and ``none``
    otherwise (arrays may be unrelated photos of one size)."""
    if temporal == "auto":
        return "stable" if video else "none"
    if temporal not in TEMPORAL_METHODS:
        raise ValueError(
            f"temporal: expected one of {', '.join(TEMPORAL_CHOICES)}, got '{temporal}'"
        )
    return temporal


@dataclass(frozen=True)
class FilePosition:
    """A frame of a video file: the file and the frame's 0-based index in it."""

    path: str
    index: int


@dataclass(frozen=True)
class StreamFrame:
    """What a call answers with: a frame (RGB) and its filtered matte. ``delayed``: the frame of
    an earlier call (``ofd`` on a live stream), not the one just given."""

    result: MattingResult
    delayed: bool = False


class MatteStream:
    """The state of one stream: its filter, the frames the filter holds, and for a file the
    decoder that reads ahead of the caller's."""

    def __init__(self) -> None:
        self._key: tuple | None = None
        self._next_index: int | None = None  # in a file: the index the next frame must have
        self._filter: MatteFilter = create_filter("none")
        self._method = "none"
        self._reader: FileReader | None = None
        # Frames pushed to the filter whose filtered matte has not been given out, oldest
        # first; in a file, these are the frames read ahead.
        self._pushed: deque[MattingResult] = deque()
        self._ready: deque[MattingResult] = deque()  # filtered, not yet given out
        # In a file: frames read ahead and matted, not yet pushed to the filter, oldest first.
        self._ahead: deque[MattingResult] = deque()
        self._seconds = 0.0  # in the filter, during this call
        # In a live stream with a filter: a copy of the last frame given, the answer, and
        # whether the answer shows the caller's array itself (which the caller may reuse).
        self._last: tuple[np.ndarray, StreamFrame, bool] | None = None

    def matte(
        self,
        image: np.ndarray,
        predict: Predict,
        temporal: str = DEFAULT_TEMPORAL,
        settings: Hashable = (),
        video: bool = False,
        position: FilePosition | None = None,
        timings: dict[str, float] | None = None,
        predict_batch: PredictBatch | None = None,
    ) -> StreamFrame:
        """The next frame's filtered matte, or an earlier frame's (see the module's notes).

        ``predict`` mattes one image; ``settings``: whatever else changes the mattes (input
        size, weights...), a change of which starts a new stream; ``video``: the frame comes
        from a video source; ``position``: from a video file, and where. ``timings``, if given,
        receives the seconds spent in the filter as ``temporal``. ``predict_batch``, if given,
        mattes several images at once: in a file, the next frames are then read ahead and
        matted :data:`READ_AHEAD` at a time (each still matted once, from the stream's own
        decoder, as ``ofd`` reads ahead).
        """
        video = video or position is not None
        method = resolve_temporal(temporal, video)
        key = (method, settings, image.shape[:2], video, position and position.path)
        follows = position is None or position.index == self._next_index
        if key != self._key or not follows:
            self._start(method)
        elif self._last is not None and np.array_equal(self._last[0], image):
            if timings is not None:
                timings["temporal"] = 0.0
            _, answer, shows_input = self._last
            return StreamFrame(MattingResult(image, answer.result.matte)) if shows_input else answer
        self._key = key
        self._next_index = None if position is None else position.index + 1
        self._seconds = 0.0

        current = self._take_read_ahead(image) if position is not None else None
        if current is None and position is not None and predict_batch and not self._filter.delay:
            current = self._take_batched(image, position, predict_batch)
            if current is not None:
                self._push(current)
        if current is None:
            # Kept beyond this call, to be shown by a later one, only with a delay: a copy then.
            current = predict(image.copy() if self._filter.delay else image)
            self._push(current)
        if position is not None and self._filter.delay:
            self._read_ahead(position, current.image, predict, predict_batch)
        if timings is not None:
            timings["temporal"] = self._seconds
        if not self._ready:  # a live stream's first frame, held by the delay
            answer = StreamFrame(current)
        else:
            frame = self._ready.popleft()
            answer = StreamFrame(frame, delayed=frame.image is not current.image)
        if position is None and method != "none":
            self._last = (image.copy(), answer, answer.result.image is image)
        return answer

    def _start(self, method: str) -> None:
        if method != self._method:
            self._filter, self._method = create_filter(method), method
        self._filter.reset()
        self._pushed.clear()
        self._ready.clear()
        self._ahead.clear()
        self._last = None
        self._close_reader()

    def _take_read_ahead(self, image: np.ndarray) -> MattingResult | None:
        """The frame read ahead for this call, already matted and pushed, as the caller's
        ``image`` (which outputs show) with the matte of the read-ahead decode; None if there
        is none, or if it is not the same picture (then the stream starts again)."""
        if not self._pushed:
            return None
        ahead = self._pushed[0]
        if same_picture(ahead.image, image):
            self._pushed[0] = MattingResult(image, ahead.matte)
            return self._pushed[0]
        self._start(self._method)
        return None

    def _take_batched(
        self, image: np.ndarray, position: FilePosition, predict_batch: PredictBatch
    ) -> MattingResult | None:
        """This call's frame matted in a batch with the file's next frames, which wait in
        ``_ahead`` for the calls that give them; None if the frame read ahead for this call is
        not the same picture (then the stream starts again)."""
        if self._ahead:
            ahead = self._ahead.popleft()
            if not same_picture(ahead.image, image):
                self._start(self._method)
                return None
            # The caller's frame shows; device tensors hold the decode they were made from.
            tensors = ahead.tensors if np.array_equal(ahead.image, image) else None
            return MattingResult(image, ahead.matte, tensors)
        if self._reader is None:
            self._reader = FileReader.at(position, image)
        frames = [image, *self._reader.read_many(READ_AHEAD - 1)]
        # What the filter needs of the frames alone (stable's flow) starts while they are matted.
        self._filter.prefetch(frames)
        first, *following = predict_batch(frames)
        self._ahead.extend(following)
        return first

    def _read_ahead(
        self,
        position: FilePosition,
        image: np.ndarray,
        predict: Predict,
        predict_batch: PredictBatch | None,
    ) -> None:
        """Reads and mattes the file's next frames until this frame's filtered matte is out;
        at the end of the file, flushes the filter."""
        if self._reader is None:
            self._reader = FileReader.at(position, image)
        while not self._ready:
            if not self._ahead:
                frames = self._reader.read_many(READ_AHEAD if predict_batch else 1)
                if not frames:
                    self._flush()
                    return
                matted = predict_batch(frames) if predict_batch else [predict(frames[0])]
                self._ahead.extend(matted)
            self._push(self._ahead.popleft())

    def _push(self, frame: MattingResult) -> None:
        start = time.perf_counter()
        filtered = self._filter.push(frame.image, frame.matte)
        self._seconds += time.perf_counter() - start
        self._pushed.append(frame)
        if filtered is not None:
            self._deliver(filtered)

    def _flush(self) -> None:
        for filtered in self._filter.flush():
            self._deliver(filtered)

    def _deliver(self, filtered: np.ndarray) -> None:
        frame = self._pushed.popleft()
        # A matte the filter left as it was keeps the session's device tensors, from which the
        # outputs are made without uploading them again.
        self._ready.append(
            frame if filtered is frame.matte else MattingResult(frame.image, filtered)
        )

    def _close_reader(self) -> None:
        if self._reader is not None:
            self._reader.close()
            self._reader = None


class FileReader:
    """A decoder of a video file of its own, ahead of the caller's; released at the end."""

    def __init__(self, capture: cv2.VideoCapture) -> None:
        self._capture = capture

    @classmethod
    def at(cls, position: FilePosition, image: np.ndarray) -> FileReader:
        """A reader whose next frame follows ``position``, checked to decode the same picture
        as ``image`` there. If the file cannot be read so, a warning, and a reader that reads
        nothing: the frames that need the next one then keep their per-frame matte."""
        capture = cv2.VideoCapture(position.path)
        reader = cls(capture)
        if position.index > 0:
            capture.set(cv2.CAP_PROP_POS_FRAMES, position.index)
        if capture.isOpened() and same_picture(reader.read(), image):
            return reader
        reader.close()
        logger.warning(
            "cannot read ahead in %s at frame %d: the frames that need the next one keep "
            "their own matte",
            position.path,
            position.index,
        )
        return reader

    def read(self) -> np.ndarray | None:
        """The next frame as RGB uint8, or None at the end of the file."""
        ok, frame = self._capture.read()
        if not ok:
            self.close()
            return None
        return cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)

    def read_many(self, count: int) -> list[np.ndarray]:
        """The next ``count`` frames, fewer at the end of the file."""
        frames = []
        while len(frames) < count and (frame := self.read()) is not None:
            frames.append(frame)
        return frames

    def close(self) -> None:
        self._capture.release()


def same_picture(decoded: np.ndarray | None, image: np.ndarray) -> bool:
    """Whether ``decoded`` is ``image`` as another decoder may give it (see
    :data:`SAME_PICTURE_TOLERANCE`)."""
    if decoded is None or decoded.shape != image.shape:
        return False
    return cv2.norm(decoded, image, cv2.NORM_L1) / image.size <= SAME_PICTURE_TOLERANCE
