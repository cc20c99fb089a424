"""Photos of one network size share a network call where the session takes several (on a GPU):
checked on the CPU with a stand-in session that records its calls."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image

from batch_support import quick_options, write_rgb
from modnet import network_size
from modnet.batch.grouping import matte_jobs, network_groups
from modnet.batch.inputs import collect_inputs
from modnet.batch.local import process_local
from modnet.batch.outputs import OutputLayout
from modnet.batch.work import Job, PhotoWork

INPUT_SIZE = 256
# (height, width): the first two and the last share a network size at INPUT_SIZE.
SHAPES = [(300, 400), (303, 404), (400, 300), (150, 200)]
BAD_VALUE = 13  # a photo of this value fails in the stand-in network


def fake_matte(rgb: np.ndarray) -> np.ndarray:
    if (rgb == BAD_VALUE).all():
        raise ValueError("non-finite output")
    return rgb[..., 0].copy()


class OneAtATime:
    """A session with ``predict`` only, as on the CPU."""

    def __init__(self, on_device: bool = True) -> None:
        self.on_device = on_device
        self.calls: list[int] = []

    def predict(self, rgb, input_size, timings=None, quality="fast"):
        self.calls.append(1)
        if timings is not None:
            timings["forward"] = 0.001
        return SimpleNamespace(matte=fake_matte(rgb))


class Batching(OneAtATime):
    """Adds ``predict_batch``, which takes photos of one network size only."""

    def predict_batch(self, images, input_size, timings=None, quality="fast"):
        assert len({network_size(*image.shape[:2], input_size) for image in images}) == 1
        self.calls.append(len(images))
        if timings is not None:
            timings["forward"] = 0.002
        return [SimpleNamespace(matte=fake_matte(image)) for image in images]


def photo(shape: tuple[int, int], value: int) -> np.ndarray:
    return np.full((*shape, 3), value, np.uint8)


def decoded_jobs(shapes: list[tuple[int, int]], values: list[int] | None = None) -> list[Job]:
    values = values or list(range(20, 20 + len(shapes)))
    return [
        Job(f"p{index}.jpg", 0, 0, rgb=photo(shape, value))
        for index, (shape, value) in enumerate(zip(shapes, values, strict=True))
    ]


def work_with(session: OneAtATime, output: Path = Path("unused")) -> PhotoWork:
    options = quick_options(output, input_size=INPUT_SIZE, outputs=("matte",))
    layout = OutputLayout.for_inputs(output, {"matte": "png"}, [])
    return PhotoWork(options, layout, session_factory=lambda _: session)


def test_groups_are_by_network_size_in_order() -> None:
    jobs = decoded_jobs(SHAPES)
    groups = network_groups(jobs, INPUT_SIZE)
    assert [[job.relative for job in group] for group in groups] == [
        ["p0.jpg", "p1.jpg", "p3.jpg"],
        ["p2.jpg"],
    ]


@pytest.mark.parametrize("batch_size", [2, 8])
def test_one_call_per_group_of_equal_size_and_each_photo_its_own_matte(batch_size: int) -> None:
    session = Batching()
    jobs = decoded_jobs(SHAPES)
    matte_jobs(work_with(session), jobs, batch_size)
    # Groups of three and one, split at batch_size; a group of one goes through predict.
    assert session.calls == ([2, 1, 1] if batch_size == 2 else [3, 1])
    for job in jobs:
        assert np.array_equal(job.matte, job.rgb[..., 0])
        assert job.seconds["network"] > 0 and job.seconds["forward"] > 0


@pytest.mark.parametrize(
    "session", [OneAtATime(), Batching(on_device=False)], ids=["no predict_batch", "on the CPU"]
)
def test_photo_by_photo_where_the_session_does_not_batch(session: OneAtATime) -> None:
    jobs = decoded_jobs(SHAPES)
    matte_jobs(work_with(session), jobs, 8)
    assert session.calls == [1] * len(SHAPES)
    assert all(np.array_equal(job.matte, job.rgb[..., 0]) for job in jobs)


def test_failed_batch_is_retried_photo_by_photo_so_a_bad_photo_fails_alone() -> None:
    session = Batching()
    jobs = decoded_jobs(SHAPES[:2], [20, BAD_VALUE])
    failed_before = Job("gone.jpg", 0, 0, error="decode: truncated")
    matte_jobs(work_with(session), [*jobs, failed_before], 8)
    assert session.calls == [2, 1, 1]  # the batched call raised, then each photo alone
    assert np.array_equal(jobs[0].matte, jobs[0].rgb[..., 0]) and jobs[0].error is None
    assert jobs[1].error == "network: non-finite output"
    assert failed_before.matte is None


def test_local_engine_writes_every_photo_once_when_batching(tmp_path: Path) -> None:
    for index, shape in enumerate(SHAPES * 3):
        write_rgb(tmp_path / "in" / f"p{index:02d}.png", photo(shape, 30 + index))
    files = collect_inputs(tmp_path / "in").files
    output = tmp_path / "out"
    session = Batching()
    work = work_with(session, output)
    work.layout = OutputLayout.for_inputs(output, {"matte": "png"}, [f.relative for f in files])

    jobs = list(process_local(files, work, threads=2, batch_size=4))

    assert sorted(job.relative for job in jobs) == [file.relative for file in files]
    assert sum(session.calls) == len(files) and max(session.calls) <= 4
    for job in jobs:
        matte = np.asarray(Image.open(output / job.outputs["matte"]))
        assert job.error is None and (matte == 30 + int(job.relative[1:3])).all()
