"""CPU speed and memory of the plugin: network backends, the Ikomia Workflow end to end against
the original plugin's recipe, and 24-megapixel photos.

Prints three markdown tables, each with its target and whether it is met:

1. the network alone at 512x512 per backend (PyTorch with and without folded BatchNorms, ONNX
   Runtime on the plugin's own export, ONNX Runtime on the MODNet authors' export);
2. a 1920x1280 photo through the Ikomia Workflow with default parameters, per stage, against
   the original plugin's recipe (PIL, torchvision transforms, float64 NumPy compositing);
3. a 6000x4000 photo through the Workflow in a subprocess of its own: peak RSS and time relative
   to 1920x1280, beside a subprocess that only loads the session.

All inputs are real PPM-100 photos, decoded and resized before any timing. Timed calls are
interleaved round-robin after a warm-up and summarised by their median, since the machine is
shared and noisy.

Usage: python scripts/benchmark_speed.py [--shared ../shared] [--repeats N] [--threads N]

``--threads`` sets PyTorch's intra-op threads (torch.set_num_threads); ONNX Runtime sessions
keep their default thread count, as the plugin creates them.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from PIL import Image

from plugin_env import REPO, TASK_NAME, import_workflow

WEIGHTS_NAME = "modnet_photographic_portrait_matting.ckpt"
AUTHORS_ONNX_NAME = "modnet_photographic_portrait_matting.onnx"
# A 5472x3648 (3:2) PPM-100 photo: cropped to a square for the network, resized for the rest.
PHOTO_NAME = "14996438642_58c976f957_o.jpg"
NETWORK_SIDE = 512
E2E_SIZE = (1920, 1280)  # width, height
BIG_SIZE = (6000, 4000)
BIG_REPEATS = 3
# Between timed calls: lets the previous runtime's spinning worker threads go idle first.
PAUSE_S = 0.05
STAGES = ("preprocess", "forward", "postprocess", "foreground", "outputs")

TARGET_OVERHEAD_SHARE = 0.15
TARGET_OLD_RATIO = 4.0
TARGET_PEAK_MIB = 1500.0
TARGET_BIG_RATIO = 2.0
TARGET_AUTHORS_RATIO = 1.0


# --- helpers ------------------------------------------------------------------------------


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


def setup_workflow(shared: Path):
    """A Workflow with the plugin (temporary HOME, Ikomia offline) and its task, set up with
    default parameters except the shared weights and cuda False."""
    workflow = import_workflow(Path(tempfile.mkdtemp(prefix="modnet-bench-")))()
    logging.getLogger("ikomia").setLevel(logging.WARNING)
    task = workflow.add_task(name=TASK_NAME, public_hub=False, auto_connect=True)
    task.set_parameters(
        {"model_weight_file": str(shared / "models" / WEIGHTS_NAME), "cuda": "False"}
    )
    return workflow, task


# --- 1. the network alone -----------------------------------------------------------------


def onnx_cache_dir() -> Path:
    """Where the plugin's export is cached for table 1: the temporary folder, reused between
    runs. Never beside the shared weights: that folder is read-only by convention, and a root
    user would be allowed to write there anyway."""
    return Path(tempfile.gettempdir()) / "modnet-benchmark"


def authors_runner(path: Path) -> Callable[[np.ndarray], np.ndarray]:
    """ONNX Runtime on the authors' export, default session options, the plugin's calling
    convention (NumPy in, NumPy out)."""
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])

    def run(x: np.ndarray) -> np.ndarray:
        return session.run(None, {"input": x})[0]

    return run


def network_runners(shared: Path) -> dict[str, Callable[[np.ndarray], np.ndarray]]:
    from infer_modnet_portrait_matting.modnet import fold_batch_norms, load_checkpoint
    from infer_modnet_portrait_matting.modnet.backends import create_runner
    from infer_modnet_portrait_matting.modnet.torch_runner import TorchRunner

    weights = shared / "models" / WEIGHTS_NAME
    cpu = "cpu"
    default = create_runner("onnxruntime", weights, cpu, onnx_cache_dir())
    return {
        "torch": TorchRunner(fold_batch_norms(load_checkpoint(weights)), cpu),
        "torch (unfolded)": TorchRunner(load_checkpoint(weights), cpu),
        "onnxruntime": default,
        "onnxruntime (authors' export)": authors_runner(shared / "models" / AUTHORS_ONNX_NAME),
    }


def network_input(photo: Path) -> np.ndarray:
    rgb = read_photo(photo, NETWORK_SIDE, NETWORK_SIDE)
    return np.ascontiguousarray(rgb.transpose(2, 0, 1)[None], dtype=np.float32) / 127.5 - 1.0


def network_table(shared: Path, photo: Path, repeats: int) -> None:
    runners = network_runners(shared)
    x = network_input(photo)
    reference = runners["torch"](x)
    errors = {name: float(np.abs(run(x) - reference).max()) for name, run in runners.items()}
    cases = {name: (lambda run=run: run(x)) for name, run in runners.items()}
    times = interleave(cases, warmup=2, repeats=repeats)
    medians = {name: statistics.median(values) for name, values in times.items()}

    print(f"## 1. Network at {NETWORK_SIDE}x{NETWORK_SIDE} (N x 3 x H x W in, alpha out)\n")
    print(f"Round-robin, 2 warm-up calls each, then {repeats} timed calls each.\n")
    print("| backend | median ms | min ms | vs default backend | max abs alpha diff vs torch |")
    print("| --- | --- | --- | --- | --- |")
    for name, values in times.items():
        print(
            f"| {name} | {medians[name] * 1e3:.1f} | {min(values) * 1e3:.1f} "
            f"| {medians[name] / medians['onnxruntime']:.2f}x | {errors[name]:.1e} |"
        )
    ratio = medians["onnxruntime (authors' export)"] / medians["onnxruntime"]
    folding = medians["torch (unfolded)"] / medians["torch"]
    print(f"\nBatchNorm folding speed-up (torch unfolded / torch): {folding:.2f}x")
    print(
        f"Default backend speed-up vs authors' ONNX (authors' ORT median / default backend "
        f"median, >= {TARGET_AUTHORS_RATIO:g} means at least as fast): {ratio:.2f}x, target "
        f">= {TARGET_AUTHORS_RATIO:g}: {verdict(ratio >= TARGET_AUTHORS_RATIO)}\n"
    )


# --- 2. end to end against the original plugin ---------------------------------------------


def old_network_size(h: int, w: int) -> tuple[int, int]:
    """The original plugin's size rule: sides capped at 800, then floored to multiples of 32."""
    if max(h, w) > 800 or min(h, w) > 800:
        if w >= h:
            rh = min(800, int(h * 800 / w))
            rw = int(w / h * rh)
        else:
            rw = min(800, int(w * 800 / h))
            rh = int(h / w * rw)
    else:
        rh, rw = h, w
    return rh - rh % 32, rw - rw % 32


def old_recipe(image: np.ndarray, model: Any) -> np.ndarray:
    """The original plugin's pipeline on an RGB uint8 image, returning its RGBA cutout."""
    import torch
    import torch.nn.functional as F
    from torchvision import transforms

    transform = transforms.Compose(
        [transforms.ToTensor(), transforms.Normalize((0.5, 0.5, 0.5), (0.5, 0.5, 0.5))]
    )
    im = transform(Image.fromarray(image))[None, :, :, :]
    _, _, h, w = im.shape
    rh, rw = old_network_size(h, w)
    im = F.interpolate(im, size=(rh, rw), mode="area")
    with torch.no_grad():
        matte = model(im)
    matte = F.interpolate(matte, size=(h, w), mode="area")
    matte_u8 = (matte[0][0].cpu().numpy() * 255).astype("uint8")
    matte_n = matte_u8[:, :, None] / 255
    fg = image * matte_n + np.full(image.shape, 255) * (1 - matte_n)
    cv2.resize(fg, (w, h))  # the old plugin computed this foreground and never used it
    alpha = (matte_n * 255).astype("uint8")
    return cv2.merge((image, alpha))


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


def e2e_table(workflow, task, shared: Path, photo: Path, repeats: int) -> None:
    from infer_modnet_portrait_matting.modnet import load_checkpoint

    image = read_photo(photo, *E2E_SIZE)
    old_model = load_checkpoint(shared / "models" / WEIGHTS_NAME).eval()
    cases = {
        "new": lambda: workflow.run_on(array=image),
        "old": lambda: old_recipe(image, old_model),
    }
    times, stages = interleave_with_stages(task, cases, "new", warmup=2, repeats=repeats)
    total, old = statistics.median(times["new"]), statistics.median(times["old"])
    forward = statistics.median(stages["forward"])
    new_matte = task.get_output(1).get_image().astype(np.float32)
    old_matte = old_recipe(image, old_model)[:, :, 3].astype(np.float32)
    matte_diff = float(np.abs(new_matte - old_matte).mean()) / 255

    width, height = E2E_SIZE
    print(f"## 2. End to end, {width}x{height} photo, Ikomia Workflow, default parameters\n")
    print(
        f"`workflow.run_on(array=...)` interleaved with the original plugin's recipe, 2 warm-up "
        f"runs each, then {repeats} each; stage times from `task.timings`.\n"
    )
    print("| stage | median ms | share of Workflow total |")
    print("| --- | --- | --- |")
    for stage in STAGES:
        value = statistics.median(stages[stage])
        print(f"| {stage} | {value * 1e3:.1f} | {value / total:.1%} |")
    print(f"| Workflow total (wall) | {total * 1e3:.1f} | 100% |")
    print(f"| old plugin recipe total | {old * 1e3:.1f} | {old / total:.0%} |")
    share = (total - forward) / total
    print(
        f"\nEverything but forward: {(total - forward) * 1e3:.1f} ms = {share:.1%} of the "
        f"total, target <= {TARGET_OVERHEAD_SHARE:.0%}: {verdict(share <= TARGET_OVERHEAD_SHARE)}"
    )
    print(
        f"Speed-up vs the old recipe (old median / Workflow median): {old / total:.2f}x, target "
        f">= {TARGET_OLD_RATIO:g}x: {verdict(old / total >= TARGET_OLD_RATIO)}"
    )
    print(f"Mean abs difference of the two mattes: {matte_diff:.4f} (alpha in [0, 1])\n")


# --- 3. 24 megapixels in a subprocess ------------------------------------------------------


def child_big(shared: Path, photo: Path) -> dict[str, Any]:
    """6000x4000 and 1920x1280 through the Workflow, interleaved; peak RSS at the end."""
    workflow, task = setup_workflow(shared)
    big, small = read_photo(photo, *BIG_SIZE), read_photo(photo, *E2E_SIZE)
    cases = {
        "big": lambda: workflow.run_on(array=big),
        "small": lambda: workflow.run_on(array=small),
    }
    times, big_stages = interleave_with_stages(task, cases, "big", warmup=1, repeats=BIG_REPEATS)
    return {
        "big": times["big"],
        "small": times["small"],
        "big_stages": {stage: statistics.median(v) for stage, v in big_stages.items()},
        "peak_kb": peak_rss_kb(),
        "inputs_kb": (big.nbytes + small.nbytes) // 1024,
    }


def child_baseline(shared: Path) -> dict[str, Any]:
    """Only imports Ikomia and loads the session as the task does."""
    setup_workflow(shared)
    from infer_modnet_portrait_matting.infer_modnet_portrait_matting_process import (
        WEIGHTS_FOLDER,
    )
    from infer_modnet_portrait_matting.modnet import MattingSession

    session = MattingSession(
        shared / "models" / WEIGHTS_NAME, "cpu", "auto", cache_dir=WEIGHTS_FOLDER
    )
    return {
        "backend": session.backend,
        "peak_kb": peak_rss_kb(),
    }


def run_child(kind: str, args: argparse.Namespace) -> dict[str, Any]:
    command = [sys.executable, __file__, "--child", kind, "--shared", str(args.shared)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    if done.returncode or not lines:
        sys.stderr.write(done.stdout + done.stderr)
        raise RuntimeError(f"the '{kind}' subprocess failed with exit status {done.returncode}")
    return json.loads(lines[-1].removeprefix("RESULT "))


def big_table(args: argparse.Namespace) -> None:
    result = run_child("big", args)
    baseline = run_child("baseline", args)
    big, small = statistics.median(result["big"]), statistics.median(result["small"])
    peak, base = mib(own_peak_kb(result["peak_kb"])), mib(own_peak_kb(baseline["peak_kb"]))
    ratio = big / small
    (bw, bh), (sw, sh) = BIG_SIZE, E2E_SIZE

    print(f"## 3. {bw}x{bh} ({bw * bh / 1e6:.0f} MP) through the Workflow, own subprocess\n")
    print(
        f"1 warm-up run each, then {BIG_REPEATS} runs each of {bw}x{bh} and {sw}x{sh}, "
        "interleaved. Peak RSS: the subprocess's own `VmHWM` at its end (its `ru_maxrss` "
        "also counts the benchmark process that spawned it, which Linux carries over `execve`).\n"
    )
    print("| measure | value | target | |")
    print("| --- | --- | --- | --- |")
    print(
        f"| peak RSS, {bw}x{bh} subprocess | {peak:.0f} MiB | < {TARGET_PEAK_MIB:.0f} MiB "
        f"| {verdict(peak < TARGET_PEAK_MIB)} |"
    )
    print(f"| peak RSS, baseline: imports + {baseline['backend']} session | {base:.0f} MiB | | |")
    print(
        f"| added by the pipeline and the images (the input arrays: "
        f"{mib(result['inputs_kb']):.0f} MiB) | {peak - base:.0f} MiB | | |"
    )
    print(f"| median Workflow time, {bw}x{bh} | {big * 1e3:.0f} ms | | |")
    print(f"| median Workflow time, {sw}x{sh} | {small * 1e3:.0f} ms | | |")
    print(
        f"| time ratio {bw}x{bh} / {sw}x{sh} | {ratio:.2f} | <= {TARGET_BIG_RATIO:g} "
        f"| {verdict(ratio <= TARGET_BIG_RATIO)} |"
    )
    stages = ", ".join(f"{k} {v * 1e3:.0f}" for k, v in result["big_stages"].items())
    print(f"\n{bw}x{bh} stage medians (ms): {stages}")
    print(
        f"ru_maxrss (inflated by the parent): {bw}x{bh} "
        f"{mib(result['peak_kb']['ru_maxrss']):.0f} MiB, "
        f"baseline {mib(baseline['peak_kb']['ru_maxrss']):.0f} MiB"
    )


# --- main ----------------------------------------------------------------------------------


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=REPO.parent / "shared")
    parser.add_argument("--repeats", type=int, default=10, help="timed runs per case")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: default)")
    parser.add_argument("--child", choices=("big", "baseline"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    args.shared = args.shared.resolve()
    if args.repeats < 1:
        parser.error("--repeats: expected at least 1")
    return args


def print_header(args: argparse.Namespace, photo: Path) -> None:
    import onnxruntime
    import torch

    print("# MODNet plugin speed benchmark (CPU)\n")
    print(
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs; torch "
        f"{torch.__version__} ({torch.get_num_threads()} threads), onnxruntime "
        f"{onnxruntime.__version__} (default threads); photo {photo.name}\n"
    )


def main() -> None:
    args = parse_args()
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    photo = args.shared / "data" / "ppm100-dev" / "image" / PHOTO_NAME
    if args.child == "big":
        print("RESULT " + json.dumps(child_big(args.shared, photo)))
        return
    if args.child == "baseline":
        print("RESULT " + json.dumps(child_baseline(args.shared)))
        return
    workflow, task = setup_workflow(args.shared)
    print_header(args, photo)
    network_table(args.shared, photo, args.repeats)
    e2e_table(workflow, task, args.shared, photo, args.repeats)
    big_table(args)


if __name__ == "__main__":
    main()
