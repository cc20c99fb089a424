"""Matting quality on a folder of image/alpha pairs, through the Ikomia Workflow API.

MSE and MAD of the alpha matte in [0, 1], averaged over each whole image, then over images
(the MODNet paper's PPM-100 protocol), and the Gradient and Connectivity errors (see
``matting_metrics.py``), summed over each whole image, divided by 1000, averaged over images.
The folder holds ``image/<stem>.<ext>`` and ``alpha/<stem>.<ext>`` (8-bit ground-truth mattes
of the same size). One row per input size and quality mode, then the time of each on one
1920x1280 photo of the folder, interleaved with the default (512, fast); ``--times-only``
prints only the latter.

Usage: python scripts/benchmark_quality.py ../shared/data/ppm100-dev
           [--input-size 512 ...] [--quality fast high] [--repeats N] [--times-only]
"""

from __future__ import annotations

import argparse
import logging
import statistics
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
from benchmark_speed import E2E_SIZE, PHOTO_NAME, STAGES, interleave, read_photo

from matting_metrics import connectivity_error, gradient_error, mad, mse
from plugin_env import TASK_NAME, import_workflow

DEFAULT_CASE = ("512", "fast")
# The stages of the matte itself, without the foreground colours and outputs that follow.
MATTE_STAGES = STAGES[:3]


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--input-size", nargs="+", default=["512"], help="one row per value")
    parser.add_argument("--quality", nargs="+", default=["fast"], help="one row per value")
    parser.add_argument("--model-weight-file", default="", help="default: the plugin's weights")
    parser.add_argument("--repeats", type=int, default=5, help="timed runs per case")
    parser.add_argument("--times-only", action="store_true", help="only the table of times")
    args = parser.parse_args()

    # A throwaway HOME keeps the benchmark offline and away from the user's Ikomia folder.
    workflow_class = import_workflow(Path(tempfile.mkdtemp(prefix="modnet-bench-")))
    logging.getLogger("ikomia").setLevel(logging.WARNING)
    cases = [(size, quality) for size in args.input_size for quality in args.quality]
    if not args.times_only:
        errors_table(workflow_class, args.model_weight_file, read_pairs(args.folder), cases)
    photo = args.folder / "image" / PHOTO_NAME
    times_table(workflow_class, args.model_weight_file, photo, cases, args.repeats)


def errors_table(
    workflow_class, weight_file: str, pairs: list[tuple[Path, Path]], cases: list[tuple[str, str]]
) -> None:
    workflow, task = new_task(workflow_class, weight_file)
    print(f"{len(pairs)} image/alpha pairs:")
    print("| input_size | quality | MSE | MAD | Grad | Conn | median s/image (CPU) |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for input_size, quality in cases:
        task.set_parameters({"input_size": input_size, "quality": quality})
        errors, seconds = [], []
        for image_path, alpha_path in pairs:
            image = cv2.imread(str(image_path), cv2.IMREAD_COLOR)[..., ::-1].copy()
            truth = cv2.imread(str(alpha_path), cv2.IMREAD_GRAYSCALE) / np.float32(255)
            start = time.perf_counter()
            workflow.run_on(array=image)
            seconds.append(time.perf_counter() - start)
            matte = task.get_output(1).get_image() / np.float32(255)
            errors.append(
                [
                    mse(matte, truth),
                    mad(matte, truth),
                    gradient_error(matte, truth) / 1000,
                    connectivity_error(matte, truth) / 1000,
                ]
            )
        means = np.mean(errors, axis=0)
        print(
            f"| {input_size} | {quality} | {means[0]:.5f} | {means[1]:.5f} "
            f"| {means[2]:.1f} | {means[3]:.1f} | {statistics.median(seconds):.3f} |",
            flush=True,
        )


def new_task(workflow_class, weight_file: str, **params: str):
    """A Workflow holding only the plugin's task, on the CPU, with ``params``."""
    workflow = workflow_class()
    task = workflow.add_task(name=TASK_NAME, public_hub=False, auto_connect=True)
    task.set_parameters({"model_weight_file": weight_file, "cuda": "False", **params})
    return workflow, task


def times_table(
    workflow_class, weight_file: str, photo: Path, cases: list[tuple[str, str]], repeats: int
) -> None:
    """Each case on one photo, interleaved with the default case. Each has a task of its own,
    hence its own network session, as when a user runs one configuration."""
    image = read_photo(photo, *E2E_SIZE)
    cases = [DEFAULT_CASE, *(case for case in cases if case != DEFAULT_CASE)]
    tasks = {
        f"{size}, {quality}": new_task(
            workflow_class, weight_file, input_size=size, quality=quality
        )
        for size, quality in cases
    }
    matte_seconds: dict[str, list[float]] = {name: [] for name in tasks}

    def record(name: str) -> None:
        timings = tasks[name][1].timings
        matte_seconds[name].append(sum(timings[stage] for stage in MATTE_STAGES))

    calls = {
        name: lambda w=workflow: w.run_on(array=image) for name, (workflow, _) in tasks.items()
    }
    times = interleave(calls, warmup=1, repeats=repeats, after=record)
    width, height = E2E_SIZE
    print(f"\n{width}x{height} photo, {repeats} interleaved runs of each case after one warm-up:")
    print("| input_size, quality | Workflow median s | vs default | matte median s | vs default |")
    print("| --- | --- | --- | --- | --- |")
    default = ", ".join(DEFAULT_CASE)
    base_total = statistics.median(times[default])
    base_matte = statistics.median(matte_seconds[default])
    for name in tasks:
        total, matte = statistics.median(times[name]), statistics.median(matte_seconds[name])
        print(
            f"| {name} | {total:.3f} | {total / base_total:.2f}x "
            f"| {matte:.3f} | {matte / base_matte:.2f}x |"
        )


if __name__ == "__main__":
    main()
