"""Foreground colour estimation: accuracy on a folder of image/alpha pairs, and cost beside the
matte on a 12-megapixel photo.

Accuracy. Each photo's own colours are the foreground F, composited with its ground-truth matte
over a known background (rounded to uint8, like a real photo); each estimator recovers F from
that composite and the same matte. The error is ``|alpha * (F_estimated - F)|``, which is the
error of the estimated colours re-composited over any new background, averaged over the colour
channels of the transition band (ground-truth alpha strictly between 0 and 1), on a 0-255
scale, then over photos. Two backgrounds:

- ``green``: a uniform (0, 255, 0), as behind a green screen;
- ``blurred photo``: the next photo of the folder (sorted by name), scaled to cover the frame
  and blurred with a standard deviation of 0.5% of its long side, as behind a portrait: a
  background that varies, which a method that assumes a flat one gets wrong.

Cost. The matte (``MattingSession.predict`` with default settings, ONNX Runtime on the CPU) and
each estimator on the folder's photo nearest to 12 megapixels and its predicted matte, timed
round-robin (medians); peak memory allocated through NumPy by each estimator on the folder's
largest photo (``tracemalloc``), beside the photo's own size.

``pymatting`` (Germer et al., multi-level foreground estimation) is measured as a reference
when it is installed.

Usage: python scripts/benchmarks/benchmark_foreground.py ../shared/data/ppm100-dev
       [--weights ../shared/models/modnet_photographic_portrait_matting.ckpt] [--repeats 5]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
from benchmark_quality import read_pairs
from PIL import Image

from plugin_env import REPO
from speed_common import interleave

sys.path.insert(0, str(REPO))  # the core package, importable without Ikomia
from modnet import MattingSession
from modnet.edit.compositing import cover, over_color, over_image
from modnet.edit.foreground import (
    DEFAULT_FOREGROUND,
    FOREGROUND_ESTIMATORS,
    BlurFusion,
    estimate_foreground,
)

GREEN = (0, 255, 0)
BACKGROUND_BLUR = 0.005  # of the long side
TARGET_RAW_RATIO = 1 / 3
TARGET_MATTE_RATIO = 1.0
COST_PIXELS = 12e6
REFERENCE = "pymatting"

Estimator = Callable[[np.ndarray, np.ndarray], np.ndarray]


def using(foreground: str | BlurFusion) -> Estimator:
    return lambda image, matte: estimate_foreground(image, matte, foreground)


def estimators(names: list[str], working_sides: list[int]) -> dict[str, Estimator]:
    """The plugin's estimators in ``names``, the default one at other ``working_sides``, and
    pymatting's if named and installed."""
    cases = {name: using(name) for name in names if name != REFERENCE}
    default = FOREGROUND_ESTIMATORS[DEFAULT_FOREGROUND]
    for side in working_sides:
        cases[f"{DEFAULT_FOREGROUND}, working side {side}"] = using(
            replace(default, working_side=side)
        )
    if REFERENCE not in names:
        return cases
    start = time.perf_counter()
    try:
        from pymatting import estimate_foreground_ml
    except ImportError:
        print("(pymatting is not installed: its reference row is left out)")
        return cases
    # Numba compiles pymatting's functions on its first import and caches them beside it.
    print(f"pymatting import: {time.perf_counter() - start:.1f} s")

    def pymatting_ml(image: np.ndarray, matte: np.ndarray) -> np.ndarray:
        foreground = estimate_foreground_ml(image / np.float32(255), matte / np.float32(255))
        return np.rint(foreground * 255).astype(np.uint8)

    cases[REFERENCE] = pymatting_ml
    return cases


def read_rgb(path: Path) -> np.ndarray:
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise FileNotFoundError(f"cannot read {path}")
    return np.ascontiguousarray(image[..., ::-1])


def composites(photo: np.ndarray, matte: np.ndarray, other: np.ndarray) -> dict[str, np.ndarray]:
    """The photo over each test background, rounded to uint8."""
    height, width = matte.shape
    sigma = BACKGROUND_BLUR * max(height, width)
    blurred = cv2.GaussianBlur(cover(other, height, width), (0, 0), sigma)
    return {
        "green": over_color(photo, matte, GREEN),
        "blurred photo": over_image(photo, matte, blurred),
    }


def accuracy_table(pairs: list[tuple[Path, Path]], cases: dict[str, Estimator]) -> None:
    errors: dict[tuple[str, str], list[float]] = {}
    for index, (image_path, alpha_path) in enumerate(pairs):
        photo = read_rgb(image_path)
        matte = cv2.imread(str(alpha_path), cv2.IMREAD_GRAYSCALE)
        band = (matte > 0) & (matte < 255)
        truth = photo[band].astype(np.float32)
        weight = matte[band][:, None].astype(np.float32) / 255
        other = read_rgb(pairs[(index + 1) % len(pairs)][0])
        for background_name, mixed in composites(photo, matte, other).items():
            for name, estimate in cases.items():
                error = np.abs(weight * (estimate(mixed, matte)[band] - truth))
                errors.setdefault((name, background_name), []).append(float(error.mean()))
        print(f"  {index + 1}/{len(pairs)} {image_path.name}", flush=True)

    raw = {key: np.mean(errors[("raw", key)]) for key in ("green", "blurred photo")}
    print(
        f"\nError of the re-composite in the transition band (0-255), mean of {len(pairs)} photos; "
        f"target: at most {TARGET_RAW_RATIO:.2f} x raw on green for the default\n"
    )
    print("| estimator | green | vs raw | blurred photo | vs raw |")
    print("| --- | --- | --- | --- | --- |")
    for name in cases:
        green, blurred = np.mean(errors[(name, "green")]), np.mean(errors[(name, "blurred photo")])
        print(
            f"| {name} | {green:.2f} | {green / raw['green']:.2f} | {blurred:.2f} "
            f"| {blurred / raw['blurred photo']:.2f} |"
        )


def cost_table(
    pairs: list[tuple[Path, Path]], cases: dict[str, Estimator], weights: Path, repeats: int
) -> None:
    sizes = {}
    for image, _ in pairs:
        with Image.open(image) as header:  # reads the size only
            sizes[image] = header.width * header.height
    photo_path = min(sizes, key=lambda image: abs(sizes[image] - COST_PIXELS))
    largest_path = max(sizes, key=sizes.get)
    session = MattingSession(weights, cache_dir=Path(tempfile.gettempdir()) / "modnet-bench")
    photo = read_rgb(photo_path)
    matte = session.predict(photo).matte
    timed = {"matte": lambda: session.predict(photo)}
    timed.update(
        {name: lambda estimate=estimate: estimate(photo, matte) for name, estimate in cases.items()}
    )
    times = interleave(timed, warmup=1, repeats=repeats)
    matte_s = statistics.median(times["matte"])

    largest = read_rgb(largest_path)
    largest_matte = session.predict(largest).matte
    peaks = {}
    for name, estimate in cases.items():
        tracemalloc.start()
        estimate(largest, largest_matte)
        peaks[name] = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()

    height, width = photo.shape[:2]
    print(
        f"\nCost on {photo_path.name} ({width}x{height}, {width * height / 1e6:.1f} MP), "
        f"{repeats} interleaved rounds after a warm-up; target: the default at most "
        f"{TARGET_MATTE_RATIO:.0f}x the matte. Peak memory on {largest_path.name} "
        f"({largest.shape[1]}x{largest.shape[0]}, whose RGB is {largest.nbytes / 2**20:.0f} MiB)\n"
    )
    print("| step | median ms | vs matte | peak MiB on the largest photo |")
    print("| --- | --- | --- | --- |")
    print(f"| matte (`MattingSession.predict`) | {matte_s * 1e3:.0f} | 1.00 | |")
    for name in cases:
        seconds = statistics.median(times[name])
        print(f"| {name} | {seconds * 1e3:.0f} | {seconds / matte_s:.2f} | {peaks[name]:.0f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument(
        "--weights",
        type=Path,
        default=Path("../shared/models/modnet_photographic_portrait_matting.ckpt"),
    )
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument(
        "--estimators",
        nargs="+",
        default=[*FOREGROUND_ESTIMATORS, REFERENCE],
        choices=[*FOREGROUND_ESTIMATORS, REFERENCE],
        help="raw must be among them: the table gives ratios to it",
    )
    parser.add_argument(
        "--working-sides",
        nargs="*",
        type=int,
        default=[],
        help=f"extra rows: {DEFAULT_FOREGROUND} with these working sides instead of its own",
    )
    parser.add_argument("--skip-cost", action="store_true", help="the accuracy table only")
    args = parser.parse_args()

    pairs = read_pairs(args.folder)
    cases = estimators(args.estimators, args.working_sides)
    if not args.skip_cost:
        cost_table(pairs, cases, args.weights, args.repeats)
    accuracy_table(pairs, cases)


if __name__ == "__main__":
    main()
