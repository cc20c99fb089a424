"""What Ikomia's Workflow does with a video file and with arrays, as a temporal filter needs it.

Probe tasks record what Ikomia calls and hands over; they run through ``Workflow.run_on`` on a
few-frame video made here, so these tests fail if a new Ikomia version behaves otherwise.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

FRAMES = 5
LEVELS = [20 + 40 * i for i in range(FRAMES)]  # one flat grey level per frame
# Motion JPEG moves a flat grey level by a step or two.
CODEC_TOLERANCE = 2


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("video") / "clip.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10, (64, 48))
    for level in LEVELS:
        writer.write(np.full((48, 64, 3), level, np.uint8))
    writer.release()
    return path


@pytest.fixture(scope="module")
def dataprocess(ikomia_workflow):
    from ikomia import dataprocess

    return dataprocess


def probe_class(base):
    """A task on ``base`` that records its calls; ``look(task, input)`` runs in ``run``."""

    class Probe(base):
        def __init__(self, look=None) -> None:
            base.__init__(self, "probe")
            self.calls: list[tuple] = []
            self.look = look

        def notify_video_start(self, frame_count: int) -> None:
            self.calls.append(("start", frame_count))

        def notify_video_end(self) -> None:
            self.calls.append(("end",))

        def run(self) -> None:
            self.begin_task_run()
            source = self.get_input(0)
            image = source.get_image()
            seen = {"type": type(source).__name__, "level": float(image.mean())}
            if self.look is not None:
                seen.update(self.look(self, source, image))
            self.calls.append(("run", seen))
            self.forward_input_image(0, 0)
            self.end_task_run()

    return Probe


def near_levels(levels: list[float]) -> bool:
    """Whether ``levels`` are the clip's frames, in order."""
    return len(levels) == FRAMES and np.allclose(levels, LEVELS, atol=CODEC_TOLERANCE)


def run_probe(ikomia_workflow, task, **source):
    workflow = ikomia_workflow()
    workflow.add_task(task=task, auto_connect=True)
    workflow.run_on(**source)
    return task.calls


def video_position(task, source, image) -> dict:
    return {"pos": source.get_current_pos(), "count": source.get_video_frame_count()}


@pytest.mark.parametrize("base", ["C2dImageTask", "CVideoTask"])
def test_video_file_runs_once_per_frame_without_start_or_end_notice(
    ikomia_workflow, dataprocess, clip: Path, base: str
) -> None:
    task = probe_class(getattr(dataprocess, base))(video_position)

    calls = run_probe(ikomia_workflow, task, path=str(clip))

    # No notify_video_start / notify_video_end, even on a CVideoTask: only run(), per frame,
    # in order, with the position of the frame just read (1-based) and the frame count.
    assert [name for name, _ in calls] == ["run"] * FRAMES
    assert near_levels([seen.pop("level") for _, seen in calls])
    assert [seen for _, seen in calls] == [
        {"type": "CVideoIO", "pos": t + 1, "count": FRAMES} for t in range(FRAMES)
    ]


def test_a_second_run_on_the_same_file_starts_again_at_position_one(
    ikomia_workflow, dataprocess, clip: Path
) -> None:
    task = probe_class(dataprocess.C2dImageTask)(video_position)
    workflow = ikomia_workflow()
    workflow.add_task(task=task, auto_connect=True)

    workflow.run_on(path=str(clip))
    workflow.run_on(path=str(clip))

    positions = [seen["pos"] for _, seen in task.calls]
    assert positions == [*range(1, FRAMES + 1), *range(1, FRAMES + 1)]


def test_image_tasks_cannot_receive_video_notices(dataprocess) -> None:
    # The Python binding of C2dImageTask has no notify_video_* to override; CVideoTask has.
    assert not hasattr(dataprocess.C2dImageTask, "notify_video_start")
    assert hasattr(dataprocess.CVideoTask, "notify_video_start")
    assert hasattr(dataprocess.CVideoTask, "notify_video_end")


def test_video_frames_are_fresh_copies(ikomia_workflow, dataprocess, clip: Path) -> None:
    kept: list[np.ndarray] = []

    def keep(task, source, image) -> dict:
        again = source.get_image()
        shared = np.shares_memory(image, again)
        image[:] = 0  # written by the task: not seen by the next get_image()
        kept.append(again)
        return {"shared": shared, "unchanged": float(source.get_image().mean())}

    calls = run_probe(ikomia_workflow, probe_class(dataprocess.C2dImageTask)(keep), path=str(clip))

    assert all(not seen["shared"] for _, seen in calls)
    assert near_levels([seen["unchanged"] for _, seen in calls])
    # A frame kept by the task is not overwritten by the frames that follow.
    assert near_levels([float(k.mean()) for k in kept])


def test_array_input_is_a_view_of_the_callers_buffer(ikomia_workflow, dataprocess) -> None:
    kept: list[np.ndarray] = []

    def keep(task, source, image) -> dict:
        kept.append(image)
        return {"view": np.shares_memory(image, buffer)}

    task = probe_class(dataprocess.C2dImageTask)(keep)
    workflow = ikomia_workflow()
    workflow.add_task(task=task, auto_connect=True)
    buffer = np.full((8, 8, 3), 60, np.uint8)
    workflow.run_on(array=buffer)
    buffer[:] = 70  # a live loop reusing its frame buffer
    workflow.run_on(array=buffer)

    assert [seen for _, seen in task.calls] == [
        {"type": "CImageIO", "level": 60, "view": True},
        {"type": "CImageIO", "level": 70, "view": True},
    ]
    # What a task keeps from an array input changes with the caller's buffer: copy it.
    assert [round(float(k.mean())) for k in kept] == [70, 70]


def test_snapshot_moves_the_workflows_own_reader(ikomia_workflow, dataprocess, clip: Path) -> None:
    def peek_next(task, source, image) -> dict:
        try:
            ahead = float(source.get_snapshot(source.get_current_pos()).mean())
        except RuntimeError:
            ahead = None
        return {"ahead": ahead}

    calls = run_probe(
        ikomia_workflow, probe_class(dataprocess.C2dImageTask)(peek_next), path=str(clip)
    )

    # Reading ahead through the input's get_snapshot() rewinds the reader that feeds run():
    # the frames that follow are no longer the file's next frames.
    assert len(calls) == FRAMES
    assert not near_levels([seen["level"] for _, seen in calls])


def test_a_reader_of_its_own_decodes_the_workflows_frames(
    ikomia_workflow, dataprocess, clip: Path
) -> None:
    readers: dict[str, cv2.VideoCapture] = {}

    def compare(task, source, image) -> dict:
        reader = readers.setdefault("own", cv2.VideoCapture(source.get_video_path()))
        ok, frame = reader.read()
        return {"same": bool(ok) and np.array_equal(frame[..., ::-1], image)}

    calls = run_probe(
        ikomia_workflow, probe_class(dataprocess.C2dImageTask)(compare), path=str(clip)
    )
    readers["own"].release()

    # Frames come as RGB; a second decoder of the file (read-ahead) yields the very same pixels.
    assert [seen["same"] for _, seen in calls] == [True] * FRAMES


def test_the_position_counts_a_frame_once_get_image_has_read_it(
    ikomia_workflow, dataprocess, clip: Path
) -> None:
    positions: list[tuple[int, int]] = []

    class Reader(dataprocess.C2dImageTask):
        def __init__(self) -> None:
            dataprocess.C2dImageTask.__init__(self, "reader")

        def run(self) -> None:
            self.begin_task_run()
            source = self.get_input(0)
            before = source.get_current_pos()
            source.get_image()
            positions.append((before, source.get_current_pos()))
            self.forward_input_image(0, 0)
            self.end_task_run()

    workflow = ikomia_workflow()
    workflow.add_task(task=Reader(), auto_connect=True)
    workflow.run_on(path=str(clip))

    # The frame is read at the run's first get_image(): before it, the position is the previous
    # frame's; after it, the 1-based position of the frame being processed.
    assert positions == [(t, t + 1) for t in range(FRAMES)]
