"""The PyTorch pipeline that runs on a GPU, checked on the CPU against the CPU pipeline."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from modnet import MattingSession, network_size
from modnet.runtime.export import load_model
from modnet.runtime.torch_runner import TorchRunner, area_weights, ieee_float32, resize

SMALL_INPUT = 256


def quarter(rgb: np.ndarray) -> np.ndarray:
    return cv2.resize(rgb, (rgb.shape[1] // 4, rgb.shape[0] // 4), interpolation=cv2.INTER_AREA)


def grey_levels(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.abs(a.astype(np.int16) - b.astype(np.int16))


@pytest.fixture(scope="module")
def runner(checkpoint: Path) -> TorchRunner:
    return TorchRunner(load_model(checkpoint), "cpu")


@pytest.fixture(scope="module")
def host_session(checkpoint: Path) -> MattingSession:
    return MattingSession(checkpoint, backend="torch")


@pytest.mark.parametrize(
    ("source", "target"),
    [
        ((100, 150), (50, 75)),
        ((1000, 1500), (352, 544)),
        ((97, 61), (32, 32)),
        ((640, 64), (512, 64)),
    ],
)
def test_resize_shrinks_like_opencv_inter_area(source, target) -> None:
    rgb = np.random.default_rng(0).integers(0, 256, (*source, 3), dtype=np.uint8)
    expected = cv2.resize(rgb, target[::-1], interpolation=cv2.INTER_AREA)

    image = torch.from_numpy(rgb).permute(2, 0, 1)[None].float()
    shrunk = resize(image, target).add_(0.5).floor_()[0].permute(1, 2, 0).numpy()

    assert shrunk.shape == expected.shape
    # Float32 sums can land a hair off an exact .5 where OpenCV's rounding goes the other way.
    off = grey_levels(shrunk.astype(np.uint8), expected)
    assert off.max() <= 1
    assert np.count_nonzero(off) <= 1e-4 * off.size


def test_area_weights_average_each_output_pixel() -> None:
    weights = area_weights(10, 4, torch.device("cpu"))

    assert weights.shape == (4, 10)
    assert torch.allclose(weights.sum(dim=1), torch.ones(4))
    # Output pixel 0 covers source [0, 2.5): pixels 0 and 1 whole, half of pixel 2.
    assert torch.allclose(weights[0, :4], torch.tensor([0.4, 0.4, 0.2, 0.0]))


def test_resize_enlarges_like_opencv_float_bilinear() -> None:
    rgb = np.random.default_rng(1).uniform(0, 255, (40, 30, 3)).astype(np.float32)
    expected = cv2.resize(rgb, (64, 96), interpolation=cv2.INTER_LINEAR)

    image = torch.from_numpy(rgb).permute(2, 0, 1)[None]
    enlarged = resize(image, (96, 64))[0].permute(1, 2, 0).numpy()

    assert np.abs(enlarged - expected).max() < 1e-3


@pytest.mark.parametrize("input_size", [SMALL_INPUT, 512])
def test_device_pipeline_gives_the_cpu_pipeline_matte(
    runner, host_session, ppm100_pairs, input_size: int
) -> None:
    # Quarter-size photos: 512 enlarges them before the network, 256 shrinks them.
    for _, rgb, _ in ppm100_pairs[:2]:
        photo = quarter(rgb)
        expected = host_session.predict(photo, input_size).matte

        matte = runner.matte(photo, network_size(*photo.shape[:2], input_size))

        assert matte.shape == expected.shape and matte.dtype == np.uint8
        assert grey_levels(matte, expected).max() <= 1


def test_session_on_device_runs_the_device_pipeline(host_session, ppm100_pairs) -> None:
    photo = quarter(ppm100_pairs[0][1])
    expected = host_session.predict(photo, SMALL_INPUT).matte
    timings: dict[str, float] = {}

    host_session.on_device = True  # what a session on a GPU sets
    try:
        matte = host_session.predict(photo, SMALL_INPUT, timings=timings).matte
    finally:
        host_session.on_device = False

    assert grey_levels(matte, expected).max() <= 1
    assert set(timings) == {"preprocess", "forward", "postprocess"}
    assert all(seconds >= 0 for seconds in timings.values())


def test_device_pipeline_takes_a_bgr_photo_flipped_to_rgb(runner, ppm100_pairs) -> None:
    # cv2.imread(...)[..., ::-1], as the README reads a photo: a view with a negative stride.
    photo = quarter(ppm100_pairs[0][1])
    flipped = np.ascontiguousarray(photo[..., ::-1])[..., ::-1]
    size = network_size(*photo.shape[:2], SMALL_INPUT)

    np.testing.assert_array_equal(runner.matte(flipped, size), runner.matte(photo, size))


def test_fp16_runs_the_network_in_float16_near_the_float32_matte(
    checkpoint: Path, runner, ppm100_pairs
) -> None:
    fp16 = TorchRunner(load_model(checkpoint), "cpu", "fp16")
    photo = quarter(ppm100_pairs[1][1])
    size = network_size(*photo.shape[:2], SMALL_INPUT)

    matte = fp16.matte(photo, size)

    assert fp16.precision == "fp16"
    assert {p.dtype for p in fp16.model.parameters()} == {torch.float16}
    change = grey_levels(matte, runner.matte(photo, size))
    # On this CPU's float16 kernels: at most 2 grey levels on this photo. A GPU's differ: on
    # the dev photos, a few pixels moved by tens of levels there (see modnet.runtime.precision).
    assert change.mean() < 0.05
    assert (change > 2).mean() < 0.005


def test_torch_runner_refuses_other_precisions(checkpoint: Path) -> None:
    with pytest.raises(
        ValueError, match=r"^precision: the torch runner runs fp32, fp16, got 'bf16'"
    ):
        TorchRunner(load_model(checkpoint), "cpu", "bf16")


TF32_FLAGS = (torch.backends.cudnn, torch.backends.cuda.matmul)


def tf32_flags() -> tuple[bool, ...]:
    return tuple(flags.allow_tf32 for flags in TF32_FLAGS)


def test_ieee_float32_turns_tf32_off_and_restores_it() -> None:
    before = tf32_flags()

    with pytest.raises(KeyError), ieee_float32():
        assert tf32_flags() == (False, False)
        raise KeyError

    assert tf32_flags() == before


class Observed(torch.nn.Module):
    """``model``, recording the TF32 flags as each call starts and ends, a pause between them
    so that calls from several threads overlap wherever nothing serialises them."""

    def __init__(self, model: torch.nn.Module) -> None:
        super().__init__()
        self.model = model
        self.seen: list[tuple[bool, ...]] = []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.seen.append(tf32_flags())
        time.sleep(0.02)
        alpha = self.model(x)
        self.seen.append(tf32_flags())
        return alpha


DEVICES = [
    "cpu",
    pytest.param(
        "cuda",
        marks=pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU"),
    ),
]


@pytest.mark.parametrize("device", DEVICES)
def test_threads_sharing_a_runner_get_the_mattes_of_calls_one_by_one(
    checkpoint: Path, ppm100_pairs, device: str
) -> None:
    runner = TorchRunner(load_model(checkpoint), device)
    photos = [
        cv2.resize(rgb, (192, 128), interpolation=cv2.INTER_AREA) for _, rgb, _ in ppm100_pairs
    ]
    size = network_size(128, 192, 128)
    alone = [runner.matte(photo, size) for photo in photos]
    observed = Observed(runner.model)
    runner.model = observed
    saved = tf32_flags()
    for flags in TF32_FLAGS:
        flags.allow_tf32 = True  # what a process may have chosen: it must be kept
    start = threading.Barrier(4)

    def run(thread: int) -> list[np.ndarray]:
        start.wait()
        return [runner.matte(photos[(thread + i) % 3], size) for i in range(3)]

    try:
        with ThreadPoolExecutor(4) as pool:
            results = list(pool.map(run, range(4)))
        after = tf32_flags()
    finally:
        for flags, value in zip(TF32_FLAGS, saved, strict=True):
            flags.allow_tf32 = value

    for thread, mattes in enumerate(results):
        for i, matte in enumerate(mattes):
            np.testing.assert_array_equal(matte, alone[(thread + i) % 3])
    assert len(observed.seen) == 2 * 12
    assert set(observed.seen) == {(False, False)}, "a call ran with TF32 allowed"
    assert after == (True, True), "the process's choice was not restored"
