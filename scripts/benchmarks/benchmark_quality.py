"""Matting quality on a folder of image/alpha pairs, through the Ikomia Workflow API.

MSE and MAD of the alpha matte in [0, 1], averaged over each whole image, then over images
(the MODNet paper's PPM-100 protocol), and the Gradient and Connectivity errors (see
``matting_metrics.py``), summed over each whole image, divided by 1000, averaged over images.
The folder holds ``image/<stem>.<ext>`` and ``alpha/<stem>.<ext>`` (8-bit ground-truth mattes
of the same size). One row per input size and quality mode; then the same errors on two
halves of the photos (even and odd positions in name order), to see whether a difference
between rows holds on both; then the time of each case on one 1920x1280 photo of the folder,
interleaved with the default (512, fast). ``--times-only`` prints only the times.

Usage: python scripts/benchmarks/benchmark_quality.py ../shared/data/ppm100-dev
           [--input-size 512 ...] [--quality fast high] [--repeats N] [--times-only]
           [--backend auto] [--precision auto]
"""

from __future__ import annotations

import argparse
import logging
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

from matting_metrics import connectivity_error, gradient_error, mad, mse
from plugin_env import TASK_NAME, import_workflow, temporary_folder
from speed_common import E2E_SIZE, PHOTO_NAME, STAGES, interleave, read_photo

Metric = Callable[[np.ndarray, np.ndarray], float]
# The table's columns, and the divisor of each (the literature reports Grad and Conn / 1000).
METRICS: dict[str, tuple[Metric, float]] = {
    "MSE": (mse, 1.0),
    "MAD": (mad, 1.0),
    "Grad": (gradient_error, 1000.0),
    "Conn": (connectivity_error, 1000.0),
}
DEFAULT_CASE = ("512", "fast")
# The stages of the matte itself, without the foreground colours and outputs that follow.
MATTE_STAGES = STAGES[:3]

Case = tuple[str, str]  # input_size, quality


def read_pairs(folder: Path) -> list[tuple[Path, Path]]:
    pairs = []
    for image in sorted((folder / "image").iterdir()):
        alphas = list((folder / "alpha").glob(image.stem + ".*"))
        if not alphas:
            raise FileNotFoundError(f"no ground-truth matte for {image} in {folder / 'alpha'}")
        pairs.append((image, alphas[0]))
    if not pairs:
        raise FileNotFoundError(f"no images in {folder / 'image'}")
    return pairs


def matte_errors(
    matte: np.ndarray, truth_path: Path, metrics: tuple[Metric, ...] = (mse, mad)
) -> list[float]:
    """``metrics`` of the uint8 ``matte`` against the ground truth at ``truth_path``, both
    brought to [0, 1]."""
    truth = cv2.imread(str(truth_path), cv2.IMREAD_GRAYSCALE).astype(np.float32) / 255
    prediction = matte.astype(np.float32) / 255
    return [metric(prediction, truth) for metric in metrics]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--input-size", nargs="+", default=["512"], help="one row per value")
    parser.add_argument("--quality", nargs="+", default=["fast"], help="one row per value")
    parser.add_argument("--model-weight-file", default="", help="default: the plugin's weights")
    parser.add_argument("--backend", default="auto", help="the task's backend parameter")
    parser.add_argument("--precision", default="auto", help="the task's precision parameter")
    parser.add_argument("--repeats", type=int, default=5, help="timed runs per case")
    parser.add_argument("--times-only", action="store_true", help="only the table of times")
    args = parser.parse_args()

    # A throwaway HOME keeps the benchmark offline and away from the user's Ikomia folder.
    workflow_class = import_workflow(temporary_folder("modnet-bench-"))
    logging.getLogger("ikomia").setLevel(logging.WARNING)
    params = {
        "model_weight_file": args.model_weight_file,
        "backend": args.backend,
        "precision": args.precision,
    }
    cases = [(size, quality) for size in args.input_size for quality in args.quality]
    pairs = read_pairs(args.folder)
    if not args.times_only:
        errors_tables(new_task(workflow_class, **params), pairs, cases)
    photo = args.folder / "image" / PHOTO_NAME
    if not photo.is_file():  # a folder other than PPM-100's: its first photo
        photo = pairs[0][0]
    times_table(workflow_class, params, photo, cases, args.repeats)


def new_task(workflow_class, **params: str):
    """A Workflow holding only the plugin's task, on the CPU, with ``params``."""
    workflow = workflow_class()
    task = workflow.add_task(name=TASK_NAME, public_hub=False, auto_connect=True)
    task.set_parameters({"cuda": "False", **params})
    return workflow, task


def runtime(task) -> str:
    """The backend and precision that the task's session resolved ``auto`` to."""
    return f"backend {task._session.backend}, precision {task._session.precision}"


def errors_tables(workflow_task, pairs: list[tuple[Path, Path]], cases: list[Case]) -> None:
    workflow, task = workflow_task
    metrics = tuple(metric for metric, _ in METRICS.values())
    scales = np.array([scale for _, scale in METRICS.values()])
    header = " | ".join(METRICS)
    per_photo: dict[Case, np.ndarray] = {}
    for input_size, quality in cases:
        task.set_parameters({"input_size": input_size, "quality": quality})
        errors, seconds = [], []
        for image_path, alpha_path in pairs:
            image = cv2.imread(str(image_path), cv2.IMREAD_COLOR)[..., ::-1].copy()
            start = time.perf_counter()
            workflow.run_on(array=image)
            seconds.append(time.perf_counter() - start)
            errors.append(matte_errors(task.get_output(1).get_image(), alpha_path, metrics))
        per_photo[input_size, quality] = np.array(errors) / scales
        if len(per_photo) == 1:
            print(f"{len(pairs)} image/alpha pairs, {runtime(task)}:")
            print(f"| input_size | quality | {header} | median s/image (CPU) |")
            print("| --- | --- |" + " --- |" * (len(METRICS) + 1))
        means = per_photo[input_size, quality].mean(axis=0)
        print(
            f"| {input_size} | {quality} | {format_cells(means)} "
            f"| {statistics.median(seconds):.3f} |",
            flush=True,
        )

    halves = {"even": slice(0, None, 2), "odd": slice(1, None, 2)}
    print("\nThe same errors on each half of the photos (positions in name order):")
    print(f"| input_size | quality | half | {header} |")
    print("| --- | --- | --- |" + " --- |" * len(METRICS))
    for (input_size, quality), errors in per_photo.items():
        for name, half in halves.items():
            cells = format_cells(errors[half].mean(axis=0))
            print(f"| {input_size} | {quality} | {name} ({len(errors[half])}) | {cells} |")


def format_cells(means: np.ndarray) -> str:
    return " | ".join(f"{value:.5f}" if value < 1 else f"{value:.1f}" for value in means)


def times_table(
    workflow_class, params: dict[str, str], photo: Path, cases: list[Case], repeats: int
) -> None:
    """Each case on one photo, interleaved with the default case. Each has a task of its own,
    hence its own network session, as when a user runs one configuration."""
    image = read_photo(photo, *E2E_SIZE)
    cases = [DEFAULT_CASE, *(case for case in cases if case != DEFAULT_CASE)]
    tasks = {
        case: new_task(workflow_class, **params, input_size=case[0], quality=case[1])
        for case in cases
    }
    matte_seconds: dict[Case, list[float]] = {case: [] for case in tasks}

    def record(case: Case) -> None:
        timings = tasks[case][1].timings
        matte_seconds[case].append(sum(timings[stage] for stage in MATTE_STAGES))

    calls = {
        case: lambda w=workflow: w.run_on(array=image) for case, (workflow, _) in tasks.items()
    }
    times = interleave(calls, warmup=1, repeats=repeats, after=record)
    totals = {case: statistics.median(values) for case, values in times.items()}
    mattes = {case: statistics.median(values) for case, values in matte_seconds.items()}

    def ratios(medians: dict[Case, float], case: Case) -> str:
        """The case's median, its ratio to the default's and to ``fast`` at its input size."""
        fast = medians.get((case[0], "fast"))
        versus_fast = f"{medians[case] / fast:.2f}x" if fast else "-"
        return f"{medians[case]:.3f} | {medians[case] / medians[DEFAULT_CASE]:.2f}x | {versus_fast}"

    width, height = E2E_SIZE
    print(
        f"\n{width}x{height} photo, {runtime(tasks[DEFAULT_CASE][1])}, {repeats} interleaved "
        "runs of each case after one warm-up (Workflow: the whole run_on, foreground colours "
        "included; matte: its preprocess, forward and postprocess stages):"
    )
    print(
        "| input_size | quality | Workflow median s | vs 512, fast | vs fast "
        "| matte median s | vs 512, fast | vs fast |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for case in tasks:
        print(f"| {' | '.join(case)} | {ratios(totals, case)} | {ratios(mattes, case)} |")


if __name__ == "__main__":
    main()
