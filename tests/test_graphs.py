"""The policy of the CUDA graph cache, on the CPU with a fake capture: eager on the first call
of a shape, captured on the second, replayed after; a few shapes kept, the least recently used
let go; a failed capture falls back to eager calls. And channels-last on the CPU."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from modnet import network_size
from modnet.runtime.export import load_model
from modnet.runtime.graphs import GraphCache
from modnet.runtime.torch_runner import TorchRunner


class FakeCapture:
    """Captures by keeping an input of its own, as a CUDA graph does; counts what it does."""

    def __init__(self, fail: bool = False) -> None:
        self.fail = fail
        self.captured: list[tuple[int, ...]] = []
        self.replays = 0

    def __call__(self, forward, x: torch.Tensor):
        if self.fail:
            raise RuntimeError("operation not permitted when stream is capturing")
        self.captured.append(tuple(x.shape))
        static = x.clone()

        def replay(y: torch.Tensor) -> torch.Tensor:
            self.replays += 1
            static.copy_(y)
            return forward(static).clone()

        return replay


class Counted:
    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        self.calls += 1
        return x * 2


def test_a_shape_is_captured_on_its_second_call_and_replayed_after() -> None:
    capture, forward = FakeCapture(), Counted()
    cache = GraphCache(capture, size=2)
    x = torch.ones(1, 3, 4, 4)

    results = [cache(forward, x * i) for i in range(4)]

    assert capture.captured == [(1, 3, 4, 4)]
    assert capture.replays == 3  # the capturing call answers with a replay too
    for i, result in enumerate(results):
        torch.testing.assert_close(result, x * i * 2)


def test_a_shape_seen_once_pays_no_capture() -> None:
    capture = FakeCapture()
    cache = GraphCache(capture)
    for side in range(1, 10):
        cache(Counted(), torch.ones(1, 3, side, side))
    assert capture.captured == []


def test_the_least_recently_used_shape_is_let_go() -> None:
    capture, forward = FakeCapture(), Counted()
    cache = GraphCache(capture, size=2)
    a, b, c = (torch.ones(1, 3, side, side) for side in (2, 3, 4))
    for x in (a, a, b, b, a, c, c):  # a used after b: b is the oldest when c comes
        cache(forward, x)

    assert [key[0] for key in cache.graphs] == [(1, 3, 2, 2), (1, 3, 4, 4)]
    cache(forward, b)  # b was seen: captured again at once
    assert capture.captured[-1] == (1, 3, 3, 3)
    assert len(cache.graphs) == 2


def test_a_failed_capture_falls_back_to_eager_calls_for_that_shape() -> None:
    capture, forward = FakeCapture(fail=True), Counted()
    cache = GraphCache(capture)
    x = torch.ones(1, 3, 4, 4)

    results = [cache(forward, x) for _ in range(4)]

    assert forward.calls == 4 and not cache.graphs
    for result in results:
        torch.testing.assert_close(result, x * 2)
    capture.fail = False
    cache(forward, x)
    assert capture.captured == []  # not tried again


@pytest.mark.parametrize("capture", [None, FakeCapture()])
def test_no_capture_or_no_room_means_eager_calls(capture) -> None:
    forward = Counted()
    cache = GraphCache(capture, size=0)
    for _ in range(3):
        cache(forward, torch.ones(1, 3, 2, 2))
    assert forward.calls == 3 and not cache.graphs


@pytest.fixture(scope="module")
def photo(ppm100_pairs) -> np.ndarray:
    rgb = ppm100_pairs[0][1]
    return np.ascontiguousarray(rgb[::8, ::8])


def test_runner_mattes_through_the_cache_as_without_it(checkpoint: Path, photo) -> None:
    runner = TorchRunner(load_model(checkpoint), "cpu")
    size = network_size(*photo.shape[:2], 128)
    expected = runner.matte(photo, size)
    assert runner.graphs.capture is None  # no graphs on the CPU
    capture = FakeCapture()
    runner.graphs = GraphCache(capture)

    mattes = [runner.matte(photo, size) for _ in range(3)]

    assert capture.captured == [(1, 3, *size)] and capture.replays == 2
    for matte in mattes:
        np.testing.assert_array_equal(matte, expected)


def test_channels_last_gives_the_same_matte(checkpoint: Path, photo) -> None:
    size = network_size(*photo.shape[:2], 128)
    plain = TorchRunner(load_model(checkpoint), "cpu")
    nhwc = TorchRunner(load_model(checkpoint), "cpu", channels_last=True)

    assert not plain.channels_last and nhwc.channels_last
    weight = next(p for p in nhwc.model.parameters() if p.dim() == 4)
    assert weight.is_contiguous(memory_format=torch.channels_last)
    difference = np.abs(nhwc.matte(photo, size).astype(int) - plain.matte(photo, size))
    assert difference.max() <= 1
