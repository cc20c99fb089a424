"""A stream of frames through the temporal filters, call by call: live arrays and video files."""

from __future__ import annotations

import logging
from pathlib import Path

import cv2
import numpy as np
import pytest

from conftest import temporal_reference, write_video
from modnet import MattingResult
from modnet.video.stream import FilePosition, MatteStream, resolve_temporal
from modnet.video.temporal import one_frame_delay

SIZE = (48, 64)  # height, width


class FakeNetwork:
    """Mattes an image as its green channel, and counts the images it was given."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, image: np.ndarray) -> MattingResult:
        self.calls += 1
        return MattingResult(image, image[..., 1].copy())


def textured(level: int, shift: int, size: tuple[int, int] = SIZE) -> np.ndarray:
    """A frame whose mean green level is about ``level``, its texture moved by ``shift``."""
    height, width = size
    noise = np.random.default_rng(7).integers(0, 60, (height, width + 64, 3), dtype=np.uint8)
    frame = noise[:, shift : shift + width].astype(np.int16) + level - 30
    return np.clip(frame, 0, 255).astype(np.uint8)


FRAMES = [textured(level, 3 * t) for t, level in enumerate((90, 200, 90, 200, 90, 160))]


def per_frame(frames: list[np.ndarray]) -> list[np.ndarray]:
    return [frame[..., 1] for frame in frames]


def filtered(method: str, frames: list[np.ndarray]) -> list[np.ndarray]:
    return temporal_reference(method, frames, per_frame(frames))


def ofd_reference(frames: list[np.ndarray]) -> list[np.ndarray]:
    """The paper's rule by hand: first and last frames kept."""
    mattes = per_frame(frames)
    middle = [one_frame_delay(*mattes[t - 1 : t + 2]) for t in range(1, len(mattes) - 1)]
    return [mattes[0], *middle, mattes[-1]]


@pytest.fixture(scope="module", params=[("mkv", "FFV1"), ("mp4", "mp4v")], ids=["ffv1", "mp4v"])
def video(request, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, list[np.ndarray]]:
    extension, fourcc = request.param
    path = tmp_path_factory.mktemp("clip") / f"clip.{extension}"
    return str(path), write_video(path, FRAMES, fourcc)


def play(stream: MatteStream, network: FakeNetwork, path: str, frames, start: int = 0, **options):
    """Feeds ``frames`` of the file ``path`` as frames ``start``, ``start + 1``... of it."""
    return [
        stream.matte(frame, network, position=FilePosition(path, start + t), **options)
        for t, frame in enumerate(frames)
    ]


def assert_mattes(answers, mattes: list[np.ndarray]) -> None:
    assert len(answers) == len(mattes)
    for t, (answer, matte) in enumerate(zip(answers, mattes, strict=True)):
        np.testing.assert_array_equal(answer.result.matte, matte, err_msg=f"frame {t}")


# --- choosing the method ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("temporal", "video", "method"),
    [
        ("auto", True, "stable"),
        ("auto", False, "none"),
        ("ofd", False, "ofd"),
        ("none", True, "none"),
    ],
)
def test_auto_is_stable_on_video_only(temporal: str, video: bool, method: str) -> None:
    assert resolve_temporal(temporal, video) == method


def test_unknown_method_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match="temporal: expected one of auto, none, ofd, stable"):
        MatteStream().matte(FRAMES[0], FakeNetwork(), "smooth")


# --- live streams: arrays, one per call ----------------------------------------------------------


def test_arrays_by_default_are_matted_one_by_one() -> None:
    stream, network = MatteStream(), FakeNetwork()

    answers = [stream.matte(frame, network) for frame in FRAMES]

    assert_mattes(answers, per_frame(FRAMES))
    assert network.calls == len(FRAMES)
    assert all(answer.result.image is frame for answer, frame in zip(answers, FRAMES, strict=True))
    assert not any(answer.delayed for answer in answers)


def test_stable_on_arrays_is_the_filter_across_calls() -> None:
    stream, network = MatteStream(), FakeNetwork()

    answers = [stream.matte(frame, network, "stable") for frame in FRAMES]

    assert_mattes(answers, filtered("stable", FRAMES))
    assert network.calls == len(FRAMES) and not any(answer.delayed for answer in answers)


def test_ofd_on_arrays_answers_with_the_previous_frame() -> None:
    stream = MatteStream()
    buffer = np.empty_like(FRAMES[0])
    answers = []
    for frame in FRAMES:
        buffer[:] = frame  # a camera loop reusing its buffer
        answers.append(stream.matte(buffer, FakeNetwork(), "ofd"))
        buffer[:] = 0

    # The first call shows its own frame, which OFD keeps as it is; each later call the frame
    # before it, with that frame's OFD matte (the last frame waits for a call that follows).
    expected = ofd_reference(FRAMES)
    assert not answers[0].delayed and all(answer.delayed for answer in answers[1:])
    assert_mattes(answers, [expected[0], *expected[:-1]])
    shown = [answer.result.image for answer in answers]
    for t, image in enumerate(shown):
        np.testing.assert_array_equal(image, FRAMES[max(t - 1, 0)], err_msg=f"call {t}")
        assert not np.shares_memory(image, buffer)


@pytest.mark.parametrize("change", ["settings", "method", "size"])
def test_a_change_starts_a_new_stream(change: str) -> None:
    stream, network = MatteStream(), FakeNetwork()
    for frame in FRAMES[:3]:
        stream.matte(frame, network, "stable", settings=(512,))
    frame, settings, method = FRAMES[3], (512,), "stable"
    if change == "settings":
        settings = (256,)
    elif change == "method":
        method = "ofd"
    else:
        frame = textured(200, 9, (40, 64))

    answer = stream.matte(frame, network, method, settings=settings)

    # The first frame of a stream has no past: its matte is its own.
    np.testing.assert_array_equal(answer.result.matte, frame[..., 1])
    assert not answer.delayed


def test_outputs_only_settings_keep_the_stream() -> None:
    # The same settings each call: the filter goes on (the caller leaves out what does not
    # change the mattes, e.g. the background colour).
    stream, network = MatteStream(), FakeNetwork()
    answers = [stream.matte(frame, network, "stable", settings=(512,)) for frame in FRAMES]
    assert_mattes(answers, filtered("stable", FRAMES))


@pytest.mark.parametrize("method", ["stable", "ofd"])
def test_a_frame_given_again_gets_the_same_answer(method: str) -> None:
    stream, network = MatteStream(), FakeNetwork()
    answers = [stream.matte(frame, network, method) for frame in FRAMES[:4]]
    calls = network.calls

    # The same frame again, in another buffer, as an application re-running on the frame it
    # shows does (after a change of the threshold, say): the answer of the first time.
    again = stream.matte(FRAMES[3].copy(), network, method)
    assert network.calls == calls
    later = [stream.matte(frame, network, method) for frame in FRAMES[4:]]

    assert again.delayed == answers[-1].delayed
    np.testing.assert_array_equal(again.result.matte, answers[-1].result.matte)
    np.testing.assert_array_equal(again.result.image, answers[-1].result.image)
    # The filter did not move: the frames after it get what they get without the repeat.
    fresh = MatteStream()
    reference = [fresh.matte(frame, FakeNetwork(), method) for frame in FRAMES]
    assert_mattes(answers + later, [answer.result.matte for answer in reference])


def test_a_frame_given_again_shows_what_the_network_matted() -> None:
    # The network may matte a converted copy of the frame (grey to RGB): the frame given again
    # shows that copy again, not the caller's grey array.
    def to_rgb(image: np.ndarray) -> MattingResult:
        return MattingResult(cv2.cvtColor(image, cv2.COLOR_GRAY2RGB), image.copy())

    stream, grey = MatteStream(), FRAMES[0][..., 1].copy()
    first = stream.matte(grey, to_rgb, "stable")

    again = stream.matte(grey.copy(), to_rgb, "stable")

    assert again.result.image is first.result.image and again.result.image.shape == (*SIZE, 3)
    np.testing.assert_array_equal(again.result.matte, first.result.matte)


def test_a_frame_that_differs_by_one_level_is_the_next_frame() -> None:
    stream, network = MatteStream(), FakeNetwork()
    stream.matte(FRAMES[0], network, "stable")
    nearly = FRAMES[0].copy()
    nearly[0, 0, 0] ^= 1

    stream.matte(nearly, network, "stable")

    assert network.calls == 2


# --- video files: the stream follows the file ----------------------------------------------------


@pytest.mark.parametrize("method", ["none", "stable", "ofd"])
def test_file_frames_get_their_own_filtered_matte(video, method: str) -> None:
    path, frames = video
    stream, network = MatteStream(), FakeNetwork()

    answers = play(stream, network, path, frames, temporal=method)

    reference = ofd_reference(frames) if method == "ofd" else filtered(method, frames)
    assert_mattes(answers, reference)
    assert not any(answer.delayed for answer in answers)
    for answer, frame in zip(answers, frames, strict=True):
        np.testing.assert_array_equal(answer.result.image, frame)
    # Read ahead or not, each frame is matted once.
    assert network.calls == len(frames)


def test_auto_on_a_file_is_stable(video) -> None:
    path, frames = video
    answers = play(MatteStream(), FakeNetwork(), path, frames)
    assert_mattes(answers, filtered("stable", frames))


def test_a_second_pass_over_the_file_starts_again(video) -> None:
    path, frames = video
    stream, network = MatteStream(), FakeNetwork()
    first = play(stream, network, path, frames, temporal="ofd")

    again = play(stream, network, path, frames, temporal="ofd")

    assert_mattes(again, [answer.result.matte for answer in first])
    assert network.calls == 2 * len(frames)


def test_a_jump_in_the_file_starts_again_there(video) -> None:
    path, frames = video
    stream, network = MatteStream(), FakeNetwork()
    play(stream, network, path, frames[:2], temporal="ofd")

    # Frames 4 and 5 (a seek, as in Studio): frame 4 starts a stream, read ahead from the file.
    answers = play(stream, network, path, frames[4:], start=4, temporal="ofd")

    assert_mattes(answers, per_frame(frames[4:]))  # a stream's first and last: kept
    later = play(MatteStream(), FakeNetwork(), path, frames[2:], start=2, temporal="ofd")
    assert_mattes(later, ofd_reference(frames[2:]))


def test_a_frame_that_is_not_the_files_is_matted_as_it_is(video, caplog) -> None:
    path, frames = video
    stranger = textured(60, 20)

    with caplog.at_level(logging.WARNING):
        answers = play(MatteStream(), FakeNetwork(), path, [stranger, *frames[1:3]], temporal="ofd")

    # The file's own decoder disagrees with the caller at frame 0: nothing is read ahead, and
    # each frame keeps its per-frame matte rather than borrowing another frame's.
    assert "cannot read ahead" in caplog.text
    assert_mattes(answers, per_frame([stranger, *frames[1:3]]))


def test_a_caller_whose_decoder_differs_a_little_still_reads_ahead(video) -> None:
    path, frames = video
    # The caller's decoder (another OpenCV build) gives every pixel one or two levels more.
    theirs = [cv2.add(frame, 1 + (frame % 2)) for frame in frames]
    stream, network = MatteStream(), FakeNetwork()

    answers = play(stream, network, path, theirs, temporal="ofd")

    # Outputs show the caller's frames; frames 1 on were matted from the stream's own decoder.
    for answer, frame in zip(answers, theirs, strict=True):
        np.testing.assert_array_equal(answer.result.image, frame)
    mattes = [theirs[0][..., 1], *per_frame(frames[1:])]
    middle = [one_frame_delay(*mattes[t - 1 : t + 2]) for t in range(1, len(mattes) - 1)]
    assert_mattes(answers, [mattes[0], *middle, mattes[-1]])
    assert network.calls == len(frames)


def test_another_file_starts_a_new_stream(video, tmp_path: Path) -> None:
    path, frames = video
    other = tmp_path / "other.mkv"
    other_frames = write_video(other, FRAMES[::-1], "FFV1")
    stream, network = MatteStream(), FakeNetwork()
    play(stream, network, path, frames[:3], temporal="stable")

    # Frame 3 would follow frame 2, but of another file.
    answers = play(stream, network, str(other), other_frames, start=3, temporal="stable")

    np.testing.assert_array_equal(answers[0].result.matte, other_frames[0][..., 1])


# --- video files matted in batches (a session on a device) -------------------------------------


class FakeBatchNetwork(FakeNetwork):
    """Also mattes several images at once, and records how many each time."""

    def __init__(self) -> None:
        super().__init__()
        self.batches: list[int] = []

    def batch(self, images: list[np.ndarray]) -> list[MattingResult]:
        self.batches.append(len(images))
        return [self(image) for image in images]


@pytest.mark.parametrize("method", ["none", "stable", "ofd"])
def test_file_frames_matted_in_batches_get_the_mattes_of_frame_by_frame(video, method) -> None:
    path, frames = video
    network = FakeBatchNetwork()

    answers = play(
        MatteStream(), network, path, frames, temporal=method, predict_batch=network.batch
    )

    expected = play(MatteStream(), FakeNetwork(), path, frames, temporal=method)
    assert_mattes(answers, [answer.result.matte for answer in expected])
    for answer, frame in zip(answers, frames, strict=True):
        np.testing.assert_array_equal(answer.result.image, frame)
    assert network.calls == len(frames)  # each frame matted once
    assert max(network.batches) > 1


def test_batched_frames_start_again_after_a_jump(video) -> None:
    path, frames = video
    stream, network = MatteStream(), FakeBatchNetwork()
    play(stream, network, path, frames[:2], temporal="stable", predict_batch=network.batch)

    answers = play(
        stream, network, path, frames[4:], start=4, temporal="stable", predict_batch=network.batch
    )

    assert_mattes(answers, filtered("stable", frames[4:]))
