"""Temporal filters of mattes: per-frame identity, the paper's OFD rule, the stable filter."""

from __future__ import annotations

import itertools
import threading

import cv2
import numpy as np
import pytest

from modnet.video.temporal import (
    TEMPORAL_METHODS,
    FlowAverage,
    OneFrameDelay,
    PerFrame,
    check_temporal,
    create_filter,
    one_frame_delay,
)


def run(filter_, frames: list[tuple[np.ndarray, np.ndarray]]) -> list[np.ndarray]:
    """Every frame through ``filter_``, then its flush: the filtered mattes in order."""
    out = [m for m in (filter_.push(image, matte) for image, matte in frames) if m is not None]
    return out + filter_.flush()


def gray_frames(mattes: list[np.ndarray]) -> list[tuple[np.ndarray, np.ndarray]]:
    return [(np.zeros((*m.shape, 3), np.uint8), m) for m in mattes]


def column(*values: int) -> list[np.ndarray]:
    """One 1 x 1 matte per value."""
    return [np.array([[v]], np.uint8) for v in values]


# --- none -----------------------------------------------------------------------------------


def test_none_returns_every_matte_unchanged() -> None:
    rng = np.random.default_rng(0)
    mattes = [rng.integers(0, 256, (5, 7), dtype=np.uint8) for _ in range(4)]
    copies = [m.copy() for m in mattes]

    out = run(PerFrame(), gray_frames(mattes))

    assert len(out) == 4
    for result, matte, copy in zip(out, mattes, copies, strict=True):
        assert result is matte
        np.testing.assert_array_equal(matte, copy)


# --- ofd: the paper's rule on hand-made three-frame cases ------------------------------------

# xi = 0.1 on [0, 1] is 25.5 grey levels: 25 is "within", 26 is "more than".
OFD_CASES = [
    # (t - 1, t, t + 1) -> filtered t
    ((100, 200, 100), 100),  # neighbours agree, t an outlier: their mean
    ((100, 200, 110), 105),
    ((100, 200, 125), 113),  # |t-1 - t+1| = 25 <= 25.5: still agree; (225 + 1) // 2
    ((100, 200, 126), 200),  # 26 > 25.5: the neighbours disagree, t is kept
    ((100, 126, 100), 100),  # t differs by 26 > 25.5 from both: replaced
    ((100, 125, 100), 125),  # t within 25 of a neighbour: kept
    ((100, 150, 140), 150),  # t within 10 of t + 1: kept
    ((0, 255, 0), 0),
    ((255, 0, 255), 255),
    ((1, 200, 2), 2),  # (1 + 2 + 1) // 2: the mean rounds half up
]


@pytest.mark.parametrize(("triple", "expected"), OFD_CASES)
def test_ofd_rule_on_three_frames(triple: tuple[int, int, int], expected: int) -> None:
    before, matte, after = column(*triple)
    assert one_frame_delay(before, matte, after)[0, 0] == expected


def test_ofd_stream_keeps_first_and_last_frames_and_filters_between() -> None:
    mattes = column(100, 200, 100, 200, 100)

    out = run(OneFrameDelay(), gray_frames(mattes))

    # Frame 2 sits between the per-frame 200s of frames 1 and 3 (not their filtered 100s).
    assert [int(m[0, 0]) for m in out] == [100, 100, 200, 100, 100]


def test_ofd_uses_per_frame_neighbours_not_filtered_ones() -> None:
    # Frame 1 is filtered to 10, but frame 2 is judged against frame 1's own matte (200).
    mattes = column(10, 200, 10, 10)

    out = run(OneFrameDelay(), gray_frames(mattes))

    assert [int(m[0, 0]) for m in out] == [10, 10, 10, 10]
    assert int(one_frame_delay(*column(200, 10, 10))[0, 0]) == 10


def test_ofd_is_one_frame_behind() -> None:
    ofd = OneFrameDelay()
    frames = gray_frames(column(1, 2, 3))

    assert ofd.delay == 1
    assert ofd.push(*frames[0]) is None
    assert int(ofd.push(*frames[1])[0, 0]) == 1
    assert int(ofd.push(*frames[2])[0, 0]) == 2
    assert [int(m[0, 0]) for m in ofd.flush()] == [3]
    assert ofd.flush() == []


def test_ofd_size_change_ends_the_stream() -> None:
    ofd = OneFrameDelay()
    small = gray_frames(column(100, 200))
    big = gray_frames([np.full((2, 2), 100, np.uint8), np.full((2, 2), 100, np.uint8)])

    ofd.push(*small[0])
    assert int(ofd.push(*small[1])[0, 0]) == 100
    # The held 1 x 1 frame is the last of its stream: it comes out unchanged.
    assert int(ofd.push(*big[0])[0, 0]) == 200
    assert ofd.push(*big[1]).shape == (2, 2)
    assert [m.shape for m in ofd.flush()] == [(2, 2)]


def test_ofd_reset_drops_the_held_frame() -> None:
    ofd = OneFrameDelay()
    frames = gray_frames(column(100, 200, 100))
    ofd.push(*frames[0])
    ofd.push(*frames[1])

    ofd.reset()

    # Frame 2 now starts a stream: no neighbour before it, so nothing to filter.
    assert ofd.push(*frames[2]) is None
    assert [int(m[0, 0]) for m in ofd.flush()] == [100]


def test_ofd_keeps_copies_of_the_callers_buffers() -> None:
    buffer = np.full((1, 1), 100, np.uint8)
    image = np.zeros((1, 1, 3), np.uint8)
    ofd = OneFrameDelay()
    outputs = []
    for value in (100, 200, 100):
        buffer[:] = value  # the caller reuses one buffer for every frame
        outputs.append(ofd.push(image, buffer))
    outputs += ofd.flush()

    assert [int(m[0, 0]) for m in outputs[1:]] == [100, 100, 100]
    buffer[:] = 0
    assert all(int(m[0, 0]) == 100 for m in outputs[1:])


# --- stable: synthetic moving shapes ----------------------------------------------------------

HEIGHT, WIDTH = 96, 128
RADIUS = 20.0
SPEED = 2  # pixels per frame


def texture(seed: int, height: int, width: int) -> np.ndarray:
    """Smooth random RGB texture, float32: enough detail for optical flow to lock on."""
    noise = np.random.default_rng(seed).integers(0, 256, (height // 4, width // 4, 3), np.uint8)
    return cv2.resize(noise, (width, height), interpolation=cv2.INTER_CUBIC).astype(np.float32)


def disk(width: int, cx: float, radius: float) -> np.ndarray:
    """Anti-aliased disk matte, float32 in [0, 1], on a HEIGHT x ``width`` canvas."""
    y, x = np.mgrid[0:HEIGHT, 0:width].astype(np.float32)
    return np.clip(radius + 0.5 - np.hypot(x - cx, y - HEIGHT / 2), 0.0, 1.0)


def scene(frames: int, disk_speed: int, camera_speed: int, wobble: float):
    """A textured disk over a textured background, seen by a camera that pans right by
    ``camera_speed`` while the disk slides right by ``disk_speed`` (pixels per frame).

    Returns the frames (RGB uint8), the true alphas (float in [0, 1]) and per-frame mattes
    whose radius wobbles by up to ``wobble`` pixels, as a network's would."""
    rng = np.random.default_rng(0)
    canvas = WIDTH + camera_speed * frames
    background, foreground = texture(1, HEIGHT, canvas), texture(2, HEIGHT, canvas)
    images, truths, mattes = [], [], []
    for t in range(frames):
        cx, left = 40.0 + disk_speed * t, camera_speed * t
        truth = disk(canvas, cx, RADIUS)
        # The disk's own texture moves with it.
        texture_t = np.roll(foreground, disk_speed * t, axis=1)
        image = background + truth[..., None] * (texture_t - background)
        matte = disk(canvas, cx, RADIUS + rng.uniform(-wobble, wobble))
        view = slice(left, left + WIDTH)
        images.append(np.rint(image[:, view]).astype(np.uint8))
        truths.append(truth[:, view])
        mattes.append(np.rint(matte[:, view] * 255).astype(np.uint8))
    return images, truths, mattes


def flicker_along(mattes: list[np.ndarray], shift: float) -> float:
    """Mean |matte_t - matte_t-1 moved right by ``shift`` pixels|, alphas in [0, 1]."""
    move = np.float32([[1, 0, shift], [0, 1, 0]])
    values = [
        np.abs(b / 255.0 - cv2.warpAffine(a / 255.0, move, (WIDTH, HEIGHT)))[:, 8:-8].mean()
        for a, b in itertools.pairwise(mattes)
    ]
    return float(np.mean(values))


def mean_error(mattes: list[np.ndarray], truths: list[np.ndarray]) -> float:
    return float(
        np.mean([np.abs(m / 255.0 - t).mean() for m, t in zip(mattes, truths, strict=True)])
    )


def centroid_x(alpha: np.ndarray) -> float:
    return float((alpha * np.arange(WIDTH)).sum() / alpha.sum())


def stable_run(images: list[np.ndarray], mattes: list[np.ndarray]) -> list[np.ndarray]:
    return run(FlowAverage(), list(zip(images, mattes, strict=True)))


def test_stable_steadies_a_panning_shot() -> None:
    images, truths, mattes = scene(frames=24, disk_speed=0, camera_speed=SPEED, wobble=1.5)

    out = stable_run(images, mattes)

    assert len(out) == len(mattes)
    # The camera pans right: everything moves left in the frame.
    assert flicker_along(out, -SPEED) < 0.5 * flicker_along(mattes, -SPEED)
    assert mean_error(out, truths) < mean_error(mattes, truths)


def test_stable_steadies_a_moving_edge_over_a_still_background() -> None:
    images, truths, mattes = scene(frames=24, disk_speed=SPEED, camera_speed=0, wobble=1.5)

    out = stable_run(images, mattes)

    assert flicker_along(out, SPEED) < 0.9 * flicker_along(mattes, SPEED)
    assert mean_error(out, truths) < mean_error(mattes, truths)


def test_stable_follows_a_moving_disk_without_lag() -> None:
    images, truths, mattes = scene(frames=24, disk_speed=SPEED, camera_speed=0, wobble=0.0)

    out = stable_run(images, mattes)

    # An average that ignored the motion would trail the disk by history / (1 - history)
    # frames, 6 pixels here; carried along the flow it stays within half a pixel.
    offsets = [centroid_x(m / 255.0) - centroid_x(t) for m, t in zip(out, truths, strict=True)]
    assert max(abs(o) for o in offsets) < 0.5


def test_stable_on_a_still_scene_keeps_the_matte_exactly() -> None:
    images, _, mattes = scene(frames=1, disk_speed=0, camera_speed=0, wobble=0.0)

    out = stable_run(images * 8, mattes * 8)

    assert all(np.array_equal(m, mattes[0]) for m in out)


def test_stable_lets_a_cut_through() -> None:
    images, _, mattes = scene(frames=6, disk_speed=SPEED, camera_speed=0, wobble=1.5)
    other = np.rint(disk(WIDTH, 90, 15) * 255).astype(np.uint8)
    stable = FlowAverage()
    run(stable, list(zip(images, mattes, strict=True)))

    # A new shot shares no colours with the last: nothing of the old matte may remain.
    out = stable.push(np.rint(texture(9, HEIGHT, WIDTH)).astype(np.uint8), other)

    assert np.abs(out.astype(int) - other).max() <= 1


@pytest.mark.parametrize("restart", ["size change", "reset"])
def test_stable_restarts(restart: str) -> None:
    images, _, mattes = scene(frames=6, disk_speed=SPEED, camera_speed=0, wobble=1.5)
    stable = FlowAverage()
    run(stable, list(zip(images, mattes, strict=True)))
    if restart == "size change":
        image, matte = images[0][:64, :80], mattes[0][:64, :80]
    else:
        stable.reset()
        image, matte = images[0], mattes[0]

    # The first frame of a stream has no past: its matte comes out unchanged.
    assert np.array_equal(stable.push(image, matte), matte)
    assert stable.flush() == []


def test_stable_keeps_no_reference_to_the_callers_buffers() -> None:
    images, _, mattes = scene(frames=10, disk_speed=SPEED, camera_speed=0, wobble=1.5)
    expected = stable_run([i.copy() for i in images], [m.copy() for m in mattes])

    stable = FlowAverage()
    image_buffer, matte_buffer = np.empty_like(images[0]), np.empty_like(mattes[0])
    out = []
    for image, matte in zip(images, mattes, strict=True):
        image_buffer[:], matte_buffer[:] = image, matte  # a caller reusing its buffers
        out.append(stable.push(image_buffer, matte_buffer))
        image_buffer[:], matte_buffer[:] = 0, 255  # and scribbling on them afterwards
    kept = [m.copy() for m in out]

    assert all(np.array_equal(a, b) for a, b in zip(out, expected, strict=True))
    stable.push(images[0], mattes[0])
    # What was returned stays as it was: the filter does not write into it later.
    assert all(np.array_equal(a, b) for a, b in zip(out, kept, strict=True))


@pytest.mark.parametrize("shape", [(1, 1), (5, 7), (16, 16), (20, 30)])
def test_stable_takes_tiny_frames(shape: tuple[int, int]) -> None:
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (*shape, 3), dtype=np.uint8)
    matte = rng.integers(0, 256, shape, dtype=np.uint8)

    out = run(FlowAverage(), [(image, matte)] * 3)

    assert all(np.array_equal(m, matte) for m in out)


def test_stable_refuses_an_image_of_another_size() -> None:
    images, _, mattes = scene(frames=1, disk_speed=0, camera_speed=0, wobble=0.0)
    with pytest.raises(ValueError, match="sizes differ"):
        FlowAverage().push(images[0][:50], mattes[0])


# --- choosing a method ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "kind"), [("none", PerFrame), ("ofd", OneFrameDelay), ("stable", FlowAverage)]
)
def test_create_filter(method: str, kind: type) -> None:
    assert type(create_filter(method)) is kind
    assert check_temporal(method) == method


def test_unknown_method_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match=r"temporal: expected one of none, ofd, stable, got 'tv'"):
        create_filter("tv")


def test_delays() -> None:
    assert [create_filter(m).delay for m in TEMPORAL_METHODS] == [0, 1, 0]


@pytest.mark.parametrize(
    "size", [(1, 500), (500, 1), (2, 30), (12, 5), (7, 4000), (8, 8), (11, 13), (16, 8), (24, 40)]
)
def test_stable_takes_frames_of_any_size(size: tuple[int, int]) -> None:
    # DIS refuses frames with a side under 8 pixels or both under 12: there the flow is zero.
    rng = np.random.default_rng(3)
    stable = create_filter("stable")
    for _ in range(3):
        image = rng.integers(0, 255, (*size, 3), dtype=np.uint8)
        matte = rng.integers(0, 255, size, dtype=np.uint8)
        assert stable.push(image, matte).shape == size


def test_stable_with_frames_told_in_advance_gives_the_same_mattes(monkeypatch) -> None:
    from modnet.video import temporal

    rng = np.random.default_rng(3)
    texture = rng.integers(0, 256, (72, 140, 3), dtype=np.uint8)
    frames = [np.ascontiguousarray(texture[:, 4 * t : 4 * t + 96]) for t in range(7)]
    mattes = [rng.integers(0, 256, (72, 96), dtype=np.uint8) for _ in frames]
    reference = create_filter("stable")
    expected = [reference.push(f, m) for f, m in zip(frames, mattes, strict=True)]
    inline: list[bool] = []  # whether each flow was computed on the calling thread
    flow = temporal._flow

    def counted(dis, *args):
        inline.append(threading.current_thread() is threading.main_thread())
        return flow(dis, *args)

    monkeypatch.setattr(temporal, "_flow", counted)
    told = create_filter("stable")
    told.push(frames[0], mattes[0])
    inline.clear()
    told.prefetch(frames[1:4])  # the next three, then three more
    results = [told.push(f, m) for f, m in zip(frames[1:4], mattes[1:4], strict=True)]
    assert inline == [False] * 3  # all three on the workers
    told.prefetch([frames[5], frames[6]])  # frame 4 skipped: these flows do not fit
    results += [told.push(f, m) for f, m in zip(frames[4:], mattes[4:], strict=True)]
    assert inline[3:].count(True) == 3  # frames 4 to 6 computed as usual

    for want, got in zip(expected[1:], results, strict=True):
        np.testing.assert_array_equal(got, want)
