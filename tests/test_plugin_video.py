"""Video through the Workflow API: files with ``run_on(path=...)`` and live loops of
``run_on(array=...)``, frame by frame, with the temporal methods."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import cv2
import numpy as np
import pytest

from conftest import SAMPLE, read_rgb, temporal_reference, write_video
from modnet import estimate_foreground, over_color
from modnet.video.temporal import one_frame_delay
from plugin_env import add_recorded_task

INPUT_SIZE = 128  # small frames, small network input: the tests are about frames, not quality
FRAMES = 8
HEIGHT, WIDTH = 96, 128


def moving_sample(count: int = FRAMES, size: tuple[int, int] = (HEIGHT, WIDTH)) -> list[np.ndarray]:
    """The sample panning right by 6 pixels per frame, each frame's index written on it."""
    sample = read_rgb(SAMPLE)
    frames = []
    for t in range(count):
        frame = cv2.resize(
            np.roll(sample, 24 * t, axis=1), size[::-1], interpolation=cv2.INTER_AREA
        )
        cv2.putText(frame, str(t), (4, 20), cv2.FONT_HERSHEY_SIMPLEX, 0.7, (0, 255, 0), 2)
        frames.append(frame)
    return frames


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[np.ndarray]]:
    """A lossless clip and its frames: what the workflow decodes is exactly these."""
    path = tmp_path_factory.mktemp("video") / "clip.mkv"
    return path, write_video(path, moving_sample(), "FFV1")


def outputs(task) -> dict[str, np.ndarray]:
    """Copies of every output of the task's last run."""
    images = {name: task.get_output(index).get_image() for name, index in IMAGE_OUTPUTS.items()}
    return {"mask": task.get_output(3).get_mask().copy()} | {
        name: image.copy() for name, image in images.items()
    }


IMAGE_OUTPUTS = {"image": 0, "matte": 1, "cutout": 2, "composite": 4}


@pytest.fixture
def recorded(ikomia_workflow, checkpoint: Path, session):
    """A workflow whose task records its outputs after each run (each frame of a video), with
    the runtime and precision of ``session``, which gives the expected per-frame mattes."""

    def make(**parameters: str):
        workflow = ikomia_workflow()
        runs: list[dict[str, np.ndarray]] = []
        task = add_recorded_task(workflow, lambda task: runs.append(outputs(task)))
        task.set_parameters(
            {
                "model_weight_file": str(checkpoint),
                "input_size": str(INPUT_SIZE),
                "backend": session.backend,
                "precision": session.precision,
                **parameters,
            }
        )
        return workflow, task, runs

    return make


def per_frame(session, frames: list[np.ndarray]) -> list[np.ndarray]:
    return [session.predict(frame, INPUT_SIZE).matte for frame in frames]


def expected_mattes(session, method: str, frames: list[np.ndarray]) -> list[np.ndarray]:
    return temporal_reference(method, frames, per_frame(session, frames))


def assert_consistent(run: dict[str, np.ndarray]) -> None:
    """Every output of a run is made from the frame of output 0 and the matte of output 1."""
    image, matte = run["image"], run["matte"]
    foreground = estimate_foreground(image, matte)
    np.testing.assert_array_equal(run["cutout"][..., :3], foreground)
    np.testing.assert_array_equal(run["cutout"][..., 3], matte)
    np.testing.assert_array_equal(run["mask"], (matte >= 128).astype(np.uint8))
    np.testing.assert_array_equal(run["composite"], over_color(foreground, matte, (0, 0, 0)))


def assert_runs(runs, frames: list[np.ndarray], mattes: list[np.ndarray]) -> None:
    """One run per frame, in order, each with the frame's matte and outputs made from it."""
    assert len(runs) == len(frames)
    for t, (run, frame, matte) in enumerate(zip(runs, frames, mattes, strict=True)):
        np.testing.assert_array_equal(run["image"], frame, err_msg=f"run {t}: another frame")
        np.testing.assert_array_equal(run["matte"], matte, err_msg=f"run {t}: another matte")
        assert_consistent(run)


# --- video files ---------------------------------------------------------------------------------


@pytest.mark.parametrize("temporal", ["none", "stable", "ofd", "auto"])
def test_every_frame_of_a_file_gets_its_own_matte(recorded, session, clip, temporal: str) -> None:
    path, frames = clip
    workflow, _, runs = recorded(temporal=temporal)

    workflow.run_on(path=str(path))

    method = "stable" if temporal == "auto" else temporal
    mattes = expected_mattes(session, method, frames)
    # No frame lost, repeated or shifted: ofd reads the next frame ahead in the file, so even
    # it answers each frame with that frame's matte, the first and last frames included.
    assert_runs(runs, frames, mattes)
    if method == "ofd":
        raw = per_frame(session, frames)
        np.testing.assert_array_equal(mattes[0], raw[0])
        np.testing.assert_array_equal(mattes[-1], raw[-1])
        np.testing.assert_array_equal(mattes[3], one_frame_delay(*raw[2:5]))
    if method != "none":  # the method did change some mattes
        raw = per_frame(session, frames)
        assert any(not np.array_equal(a, b) for a, b in zip(mattes, raw, strict=True))


def test_a_second_run_on_the_file_starts_afresh(recorded, session, clip) -> None:
    path, frames = clip
    workflow, _, runs = recorded(temporal="stable")

    workflow.run_on(path=str(path))
    workflow.run_on(path=str(path))

    mattes = expected_mattes(session, "stable", frames)
    assert_runs(runs, frames + frames, mattes + mattes)


def test_ofd_reads_ahead_in_an_inter_frame_codec(recorded, session, tmp_path: Path, caplog) -> None:
    path = tmp_path / "clip.mp4"
    frames = write_video(path, moving_sample(), "mp4v")
    workflow, _, runs = recorded(temporal="ofd")

    with caplog.at_level(logging.WARNING):
        workflow.run_on(path=str(path))

    # The task's own decoder of the file agrees with the workflow's, frame for frame.
    assert "cannot read ahead" not in caplog.text
    assert_runs(runs, frames, expected_mattes(session, "ofd", frames))


def test_a_parameter_change_between_runs_starts_afresh(recorded, session, clip) -> None:
    path, frames = clip
    workflow, task, runs = recorded(temporal="stable")
    workflow.run_on(path=str(path))
    runs.clear()

    task.set_parameters({"input_size": "160"})
    workflow.run_on(path=str(path))

    mattes = [session.predict(frame, 160).matte for frame in frames]
    assert_runs(runs, frames, temporal_reference("stable", frames, mattes))


# --- live streams: a loop of arrays --------------------------------------------------------------


def live(workflow, frames: list[np.ndarray]) -> None:
    """Feeds ``frames`` through one buffer, as a camera loop does, scribbling on it after each
    call: nothing the task keeps may alias it."""
    buffer = np.empty_like(frames[0])
    for frame in frames:
        buffer[:] = frame
        workflow.run_on(array=buffer)
        buffer[:] = 0


def test_arrays_are_matted_one_by_one_unless_asked(recorded, session) -> None:
    frames = moving_sample()
    workflow, _, runs = recorded()  # temporal auto

    live(workflow, frames)

    assert_runs(runs, frames, per_frame(session, frames))


def test_stable_on_arrays(recorded, session) -> None:
    frames = moving_sample()
    workflow, _, runs = recorded(temporal="stable")

    live(workflow, frames)

    assert_runs(runs, frames, expected_mattes(session, "stable", frames))


def test_ofd_on_arrays_lags_one_frame_with_consistent_outputs(recorded, session) -> None:
    frames = moving_sample()
    workflow, _, runs = recorded(temporal="ofd")

    live(workflow, frames)

    # Call t shows frame t - 1 in every output (call 0: frame 0, which OFD keeps as it is).
    mattes = expected_mattes(session, "ofd", frames)
    assert_runs(runs, [frames[0], *frames[:-1]], [mattes[0], *mattes[:-1]])


@pytest.mark.parametrize("change", ["frame size", "input_size", "quality"])
def test_a_live_stream_starts_afresh_on_a_change(recorded, session, change: str) -> None:
    frames = moving_sample()
    workflow, task, runs = recorded(temporal="stable")
    live(workflow, frames[:4])
    later, size, quality = frames[4:], INPUT_SIZE, "fast"
    if change == "frame size":
        later = moving_sample(size=(80, 128))[4:]
    elif change == "input_size":
        size = 160
        task.set_parameters({"input_size": str(size)})
    else:
        quality = "high"
        task.set_parameters({"quality": quality})

    live(workflow, later)

    mattes = [session.predict(frame, size, quality=quality).matte for frame in later]
    assert_runs(runs[4:], later, temporal_reference("stable", later, mattes))


def test_output_parameters_do_not_restart_a_live_stream(recorded, session) -> None:
    frames = moving_sample()
    workflow, task, runs = recorded(temporal="stable")
    live(workflow, frames[:4])

    task.set_parameters({"threshold": "0.3", "foreground": "raw"})
    live(workflow, frames[4:])

    mattes = expected_mattes(session, "stable", frames)
    np.testing.assert_array_equal(runs[-1]["matte"], mattes[-1])
    np.testing.assert_array_equal(runs[-1]["mask"], (mattes[-1] >= 77).astype(np.uint8))
    np.testing.assert_array_equal(runs[-1]["cutout"][..., :3], frames[-1])


@pytest.mark.parametrize("temporal", ["auto", "stable", "ofd"])
def test_a_still_image_is_never_changed(recorded, session, sample_rgb, temporal: str) -> None:
    workflow, _, runs = recorded(temporal=temporal)

    workflow.run_on(path=str(SAMPLE))
    workflow.run_on(path=str(SAMPLE))  # Studio runs again on the same picture

    assert_runs(runs, [sample_rgb] * 2, per_frame(session, [sample_rgb]) * 2)


def write_photos(folder: Path, frames: list[np.ndarray]) -> list[Path]:
    folder.mkdir()
    paths = [folder / f"photo{t}.png" for t in range(len(frames))]
    for path, frame in zip(paths, frames, strict=True):
        cv2.imwrite(str(path), cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    return paths


@pytest.mark.parametrize("temporal", ["stable", "ofd"])
def test_photos_of_one_size_are_never_blended(
    recorded, session, tmp_path: Path, temporal: str
) -> None:
    frames = moving_sample(count=3)
    workflow, _, runs = recorded(temporal=temporal)

    for path in write_photos(tmp_path / "photos", frames):
        workflow.run_on(path=str(path))

    assert_runs(runs, frames, per_frame(session, frames))


def test_a_folder_run_saves_each_photo_with_its_own_matte(recorded, session, tmp_path) -> None:
    frames = moving_sample(count=3)
    paths = write_photos(tmp_path / "photos", frames)
    workflow, _, runs = recorded(temporal="ofd")
    workflow.set_output_folder(str(tmp_path / "out"))

    workflow.run_on(folder=str(tmp_path / "photos"))

    # Ikomia's folder runs carry no file path: what tells them from a camera loop is that
    # every run's outputs are saved (a delay would save one photo's matte under the next).
    saved = list((tmp_path / "out").rglob("*_matte.png"))
    for path, matte in zip(paths, per_frame(session, frames), strict=True):
        (matte_path,) = [found for found in saved if found.name.endswith(f"{path.stem}_matte.png")]
        np.testing.assert_array_equal(cv2.imread(str(matte_path), cv2.IMREAD_UNCHANGED), matte)
    assert len(runs) == len(frames)


# --- Studio's video player: each frame in an input of its own -----------------------------------


def studio_play(task, frames: list[np.ndarray], path: Path) -> None:
    """Runs ``task`` on ``frames`` as Studio's player hands them over (IkomiaStudio's
    ``CWorkflowRunManager::createIOFromDataItem``): a new ``CVideoIO`` holding each frame, the
    file's path set on the first one only, and no reader of the file, so no position."""
    from ikomia import core, dataprocess

    for t, frame in enumerate(frames):
        source = dataprocess.CVideoIO(core.IODataType.VIDEO, frame)
        if t == 0:
            source.set_video_path(str(path))
        task.set_input(source, 0)
        task.run()


def test_studio_play_is_a_live_stream(recorded, session, clip) -> None:
    path, frames = clip
    _, task, runs = recorded()  # temporal auto: stable, for a video input

    studio_play(task, frames, path)

    # One stream from the first frame on, with no delay: each run shows its own frame.
    assert_runs(runs, frames, expected_mattes(session, "stable", frames))


def test_studio_running_again_on_the_shown_frame_keeps_its_matte(recorded, session, clip) -> None:
    path, frames = clip
    _, task, runs = recorded(temporal="stable")
    studio_play(task, frames[:5], path)

    # Paused on frame 4, the user moves the threshold: Studio runs the task again on frame 4.
    task.set_parameters({"threshold": "0.3"})
    studio_play(task, [frames[4]], path)

    again, first = runs[-1], runs[-2]
    np.testing.assert_array_equal(again["matte"], first["matte"])
    np.testing.assert_array_equal(again["mask"], (first["matte"] >= 77).astype(np.uint8))
    np.testing.assert_array_equal(again["image"], frames[4])


# --- what Ikomia saves of a video ----------------------------------------------------------------


def read_video(path: Path) -> list[np.ndarray]:
    capture, frames = cv2.VideoCapture(str(path)), []
    while (read := capture.read())[0]:
        frames.append(read[1])
    capture.release()
    return frames


def test_auto_save_of_a_video_writes_the_composite_as_a_video(
    recorded, clip, tmp_path: Path
) -> None:
    path, _ = clip
    workflow, _, runs = recorded(background="color", background_color="40,110,220")
    workflow.set_output_folder(str(tmp_path))
    workflow.set_auto_save(True)

    workflow.run_on(path=str(path))

    saved = {file.name: file for file in tmp_path.rglob("*") if file.is_file()}
    assert sorted(saved) == sorted(
        [f"{path.stem}_{i}.mp4" for i in range(1, 5)] + ["SemanticSegIO_3.json"]
    )
    videos = {i: read_video(saved[f"{path.stem}_{i}.mp4"]) for i in range(1, 5)}
    assert all(len(video) == FRAMES for video in videos.values())

    def error(index: int, output: str, conversion: int) -> float:
        """Mean difference between the saved video and an output, over frames (lossy codec)."""
        pairs = zip(videos[index], runs, strict=True)
        return float(
            np.mean(
                [
                    np.abs(v.astype(int) - cv2.cvtColor(r[output], conversion)).mean()
                    for v, r in pairs
                ]
            )
        )

    # Every image output is a 3-channel BGR video, numbered from 1: output 0, the matte as grey,
    # the cutout without its alpha (its colours: not a cutout any more), and the composite,
    # the one to watch. The mask goes to a JSON file, one entry per frame.
    assert error(1, "image", cv2.COLOR_RGB2BGR) < 6
    assert error(2, "matte", cv2.COLOR_GRAY2BGR) < 6
    assert error(3, "cutout", cv2.COLOR_RGBA2BGR) < 6
    assert error(4, "composite", cv2.COLOR_RGB2BGR) < 6
    assert error(4, "image", cv2.COLOR_RGB2BGR) > 20  # the blue background shows
    assert len(json.loads(saved["SemanticSegIO_3.json"].read_text())) == FRAMES
