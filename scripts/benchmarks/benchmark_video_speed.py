"""Frames per second of the plugin on a video, through the Ikomia Workflow, end to end.

``Workflow.run_on(path=video)`` on ``talking_720p.mp4`` (1280x720, 282 frames) with the task's
default parameters on the CPU, timed from the call to its return: Ikomia decoding each frame,
the network, the temporal filter, the foreground colours, every output. The stage shares come
from the task's own timings of each frame; "Ikomia and the rest" is what remains of the wall
time (decoding, Ikomia's copies of the inputs and outputs, its loop, the adapter).

Cases, one whole pass over the clip each, run in turn ``--rounds`` times: the defaults
(``temporal`` auto, which is ``stable`` on a video) and the same with ``temporal`` ``none`` and
``ofd``; their frame times side by side give the cost of each method on the same machine at
the same time.

A second table times the network on a batch of two consecutive frames against two calls of
one frame each, interleaved: reading ahead in the file would allow batches.

Usage: python scripts/benchmarks/benchmark_video_speed.py [--shared ../shared] [--video PATH]
       [--rounds N] [--cases defaults none ofd] [--batch-repeats N]
"""

from __future__ import annotations

import argparse
import logging
import os
import platform
import statistics
import time
from pathlib import Path

import cv2
import numpy as np

from plugin_env import REPO, add_recorded_task, import_workflow, temporary_folder

WEIGHTS_NAME = "modnet_photographic_portrait_matting.ckpt"
VIDEO_NAME = "talking_720p.mp4"
CASES = {"defaults": {}, "none": {"temporal": "none"}, "ofd": {"temporal": "ofd"}}
STAGES = ("preprocess", "forward", "postprocess", "temporal", "foreground", "outputs")


class Pass:
    """One run of the workflow over the whole video: the wall time of each frame (from the end
    of the previous one) and the task's stage timings of each frame."""

    def __init__(self) -> None:
        self.frame_seconds: list[float] = []
        self.stages: dict[str, list[float]] = {stage: [] for stage in STAGES}
        self.total = 0.0
        self._last = 0.0

    def start(self) -> None:
        self._last = time.perf_counter()

    def record(self, task) -> None:
        now = time.perf_counter()
        self.frame_seconds.append(now - self._last)
        self._last = now
        for stage in STAGES:
            # A frame whose matte was read ahead at the previous frame has no network stages.
            self.stages[stage].append(task.timings.get(stage, 0.0))


def setup(shared: Path, parameters: dict[str, str]):
    """A workflow with the plugin's task, recording each frame into the pass it is given."""
    workflow = import_workflow(temporary_folder("modnet-video-"))()
    logging.getLogger("ikomia").setLevel(logging.WARNING)
    current: dict[str, Pass] = {}
    task = add_recorded_task(workflow, lambda task: current["pass"].record(task))
    task.set_parameters(
        {"model_weight_file": str(shared / "models" / WEIGHTS_NAME), "cuda": "False", **parameters}
    )
    return workflow, task, current


def run_pass(workflow, current: dict[str, Pass], video: Path) -> Pass:
    result = current["pass"] = Pass()
    start = time.perf_counter()
    result.start()
    workflow.run_on(path=str(video))
    result.total = time.perf_counter() - start
    return result


def speed_table(shared: Path, video: Path, cases: list[str], rounds: int) -> dict[str, object]:
    setups = {case: setup(shared, CASES[case]) for case in cases}
    first = cv2.VideoCapture(str(video)).read()[1][..., ::-1].copy()
    for workflow, _, current in setups.values():  # loads the network, warms the runtime up
        current["pass"] = Pass()
        workflow.run_on(array=first)
    passes: dict[str, list[Pass]] = {case: [] for case in cases}
    for _ in range(rounds):
        for case, (workflow, _, current) in setups.items():
            passes[case].append(run_pass(workflow, current, video))

    frames = len(passes[cases[0]][0].frame_seconds)
    print(f"## Frames per second, {video.name} ({frames} frames), Workflow API, CPU\n")
    print(
        f"`Workflow.run_on(path=...)`, default parameters but the one named, cases in turn, "
        f"{rounds} pass(es) each; fps = frames / wall time of the pass (median over passes).\n"
    )
    print("| case | fps | median ms/frame | vs defaults |")
    print("| --- | --- | --- | --- |")
    medians = {}
    for case in cases:
        fps = statistics.median(frames / p.total for p in passes[case])
        medians[case] = statistics.median(t for p in passes[case] for t in p.frame_seconds)
        ratio = medians[case] / medians[cases[0]]
        print(f"| {case} | {fps:.2f} | {medians[case] * 1e3:.0f} | {ratio:.2f}x |")

    print(f"\n### Where a frame's time goes ({cases[0]})\n")
    print("Mean over every frame of every pass, from the task's timings.\n")
    print("| stage | mean ms/frame | share |")
    print("| --- | --- | --- |")
    all_passes = passes[cases[0]]
    wall = float(np.mean([t for p in all_passes for t in p.frame_seconds]))
    accounted = 0.0
    for stage in STAGES:
        mean = float(np.mean([t for p in all_passes for t in p.stages[stage]]))
        accounted += mean
        print(f"| {stage} | {mean * 1e3:.1f} | {mean / wall:.1%} |")
    rest = wall - accounted
    print(f"| Ikomia and the rest (decoding, copies) | {rest * 1e3:.1f} | {rest / wall:.1%} |")
    print(f"| total | {wall * 1e3:.1f} | 100% |\n")
    return {case: setups[case][1] for case in cases}


def batch_table(task, video: Path, repeats: int) -> None:
    """The task's own network on two consecutive frames: one batch of two against two calls."""
    capture = cv2.VideoCapture(str(video))
    frames = [capture.read()[1][..., ::-1] for _ in range(2)]
    capture.release()
    session = task._session
    from infer_modnet_portrait_matting.modnet import network_size

    height, width = network_size(*frames[0].shape[:2], 512)
    inputs = [
        cv2.resize(frame, (width, height), interpolation=cv2.INTER_AREA).transpose(2, 0, 1)[None]
        for frame in frames
    ]
    singles = [np.ascontiguousarray(x, dtype=np.float32) / 127.5 - 1.0 for x in inputs]
    batch = np.concatenate(singles)
    cases = {
        "two calls of one frame": lambda: [session.network(x) for x in singles],
        "one batch of two frames": lambda: session.network(batch),
    }
    for call in cases.values():
        call()
    times: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(repeats):
        for name, call in cases.items():
            start = time.perf_counter()
            call()
            times[name].append(time.perf_counter() - start)
    reference = statistics.median(times["two calls of one frame"])
    print(f"## The network on two frames at {width}x{height} ({session.backend})\n")
    print(f"Interleaved, {repeats} times each after a warm-up call.\n")
    print("| case | median ms | vs two calls |")
    print("| --- | --- | --- |")
    for name, values in times.items():
        median = statistics.median(values)
        print(f"| {name} | {median * 1e3:.0f} | {median / reference:.2f}x |")
    difference = np.abs(session.network(batch)[1] - session.network(singles[1])[0]).max()
    print(f"\nMax difference of the alpha, batch against single: {difference:.1e}\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=REPO.parent / "shared")
    parser.add_argument("--video", type=Path, help=f"default: shared/data/videos/{VIDEO_NAME}")
    parser.add_argument("--rounds", type=int, default=1, help="passes over the video per case")
    parser.add_argument("--cases", nargs="+", choices=list(CASES), default=list(CASES))
    parser.add_argument("--batch-repeats", type=int, default=10)
    args = parser.parse_args()
    video = args.video or args.shared / "data" / "videos" / VIDEO_NAME

    print("# Video speed of the plugin (CPU)\n")
    print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs\n")
    start = time.perf_counter()
    tasks = speed_table(args.shared.resolve(), video, args.cases, args.rounds)
    session = tasks[args.cases[0]]._session
    print(f"Runtime chosen by auto: {session.backend}, {session.precision}\n")
    batch_table(tasks[args.cases[0]], video, args.batch_repeats)
    print(f"Benchmark run time: {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
