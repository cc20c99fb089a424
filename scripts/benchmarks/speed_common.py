"""What the CPU speed benchmarks share: the photo, round-robin timing, peak memory, the
plugin's Workflow set up offline, the command line and the header naming the CPU.

The benchmarks: ``benchmark_network.py`` (the network alone per runtime and precision),
``benchmark_photo.py`` (a photo end to end through the Workflow against the original plugin's
recipe) and ``benchmark_big_photo.py`` (24 megapixels, time and peak memory).
"""

from __future__ import annotations

import argparse
import logging
import os
import resource
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from plugin_env import REPO, TASK_NAME, add_plugin_package, import_workflow, temporary_folder

WEIGHTS_NAME = "modnet_photographic_portrait_matting.ckpt"
# A 5472x3648 (3:2) PPM-100 photo: cropped to a square for the network, resized for the rest.
PHOTO_NAME = "14996438642_58c976f957_o.jpg"
E2E_SIZE = (1920, 1280)  # width, height
# Between timed calls: lets the previous runtime's spinning worker threads go idle first.
PAUSE_S = 0.05
STAGES = ("preprocess", "forward", "postprocess", "foreground", "outputs")


def read_photo(path: Path, width: int, height: int) -> np.ndarray:
    """The photo as RGB uint8, centre-cropped to width:height and resized to width x height."""
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise FileNotFoundError(f"cannot read {path}")
    h, w = image.shape[:2]
    if w * height > h * width:  # too wide: crop the width
        crop = h * width // height
        image = image[:, (w - crop) // 2 : (w - crop) // 2 + crop]
    elif w * height < h * width:  # too tall: crop the height
        crop = w * height // width
        image = image[(h - crop) // 2 : (h - crop) // 2 + crop]
    shrinking = width * height < image.shape[0] * image.shape[1]
    interpolation = cv2.INTER_AREA if shrinking else cv2.INTER_CUBIC
    image = cv2.resize(image, (width, height), interpolation=interpolation)
    return np.ascontiguousarray(image[..., ::-1])


def timed(call: Callable[[], Any]) -> float:
    """Seconds taken by ``call()``."""
    start = time.perf_counter()
    call()
    return time.perf_counter() - start


def interleave(
    cases: dict[str, Callable[[], Any]],
    warmup: int,
    repeats: int,
    after: Callable[[str], None] | None = None,
) -> dict[str, list[float]]:
    """Times each case ``repeats`` times, round-robin, after ``warmup`` untimed rounds.
    ``after(name)`` runs after each timed call, outside the timing."""
    for _ in range(warmup):
        for call in cases.values():
            call()
    times: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(repeats):
        for name, call in cases.items():
            time.sleep(PAUSE_S)
            times[name].append(timed(call))
            if after is not None:
                after(name)
    return times


def verdict(met: bool) -> str:
    return "met" if met else "NOT met"


def mib(kilobytes: float) -> float:
    return kilobytes / 1024


def peak_rss_kb() -> dict[str, int]:
    """This process's peak resident set size in KiB: ``ru_maxrss`` and, on Linux, ``VmHWM``.

    Linux carries ``ru_maxrss`` over ``execve`` from the process that was replaced, so in a
    subprocess it is at least the parent's RSS when it spawned the child; ``VmHWM`` belongs to
    the new address space only, so it is the subprocess's own peak.
    """
    peaks = {"ru_maxrss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}
    status = Path("/proc/self/status")
    if status.is_file():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                peaks["VmHWM"] = int(line.split()[1])
    return peaks


def own_peak_kb(peaks: dict[str, int]) -> int:
    return peaks.get("VmHWM", peaks["ru_maxrss"])


def setup_workflow(shared: Path, workflow_class: type, **parameters: str):
    """A Workflow with the plugin's task, set up with default parameters except the shared
    weights, cuda False and ``parameters``."""
    workflow = workflow_class()
    logging.getLogger("ikomia").setLevel(logging.WARNING)
    task = workflow.add_task(name=TASK_NAME, public_hub=False, auto_connect=True)
    task.set_parameters(
        {"model_weight_file": str(shared / "models" / WEIGHTS_NAME), "cuda": "False", **parameters}
    )
    return workflow, task


def plugin_workflow_class() -> type:
    """Ikomia's Workflow with the plugin installed in a temporary HOME, Ikomia offline."""
    return import_workflow(temporary_folder("modnet-bench-"))


def plugin_package() -> None:
    """The plugin's package importable, from a temporary HOME, without Ikomia."""
    add_plugin_package(temporary_folder("modnet-bench-"))


def benchmark_cache_dir() -> Path:
    """Where the plugin's exports are cached for the benchmarks: the temporary folder, reused
    between runs. Never beside the shared weights: that folder is read-only by convention, and
    a root user would be allowed to write there anyway."""
    return Path(tempfile.gettempdir()) / "modnet-benchmark"


def interleave_with_stages(
    task, cases: dict[str, Callable[[], object]], staged: str, warmup: int, repeats: int
) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    """``interleave``, also collecting the task's stage timings of each timed ``staged`` run."""
    stages: dict[str, list[float]] = {stage: [] for stage in STAGES}

    def record(name: str) -> None:
        if name == staged:
            for stage in STAGES:
                stages[stage].append(task.timings[stage])

    return interleave(cases, warmup=warmup, repeats=repeats, after=record), stages


def parse_args(description: str, extra: Callable[[argparse.ArgumentParser], None] | None = None):
    """The options every speed benchmark takes (``--shared``, ``--repeats``, ``--threads``),
    plus those ``extra`` adds; sets PyTorch's threads."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--shared", type=Path, default=REPO.parent / "shared")
    parser.add_argument("--repeats", type=int, default=10, help="timed runs per case")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: default)")
    if extra is not None:
        extra(parser)
    args = parser.parse_args()
    args.shared = args.shared.resolve()
    if args.repeats < 1:
        parser.error("--repeats: expected at least 1")
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    args.photo = args.shared / "data" / "ppm100-dev" / "image" / PHOTO_NAME
    return args


def print_header(title: str, photo: Path) -> None:
    import torch

    from infer_modnet_portrait_matting.modnet.runtime.cpu import cpu_name, isa_flags
    from infer_modnet_portrait_matting.modnet.runtime.cpu_choice import RUNTIMES, package_version

    cap = os.environ.get("ONEDNN_MAX_CPU_ISA")
    print(f"# {title}\n")
    print(
        f"{cpu_name()}, {os.cpu_count()} CPUs; instruction sets: {', '.join(isa_flags())}"
        f"{f' (oneDNN capped at {cap})' if cap else ''}; torch {torch.__version__} "
        f"({torch.get_num_threads()} threads), "
        + ", ".join(f"{runtime} {package_version(runtime)}" for runtime in RUNTIMES)
        + f" (default threads), OpenCV {cv2.getNumThreads()} threads (also the work threads); "
        f"photo {photo.name}\n"
    )
