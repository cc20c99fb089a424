"""CPU speed and memory of the plugin: network runtimes and precisions, the Ikomia Workflow end
to end against the original plugin's recipe, and 24-megapixel photos.

Prints the CPU's name and vector instruction sets, then three markdown tables, each with its
target and whether it is met:

1. the network alone at 768x512 (a 3:2 photo at the default input size) per backend and
   precision (PyTorch with and without folded BatchNorms, ONNX Runtime on the plugin's own
   export and on the MODNet authors' export, OpenVINO in float32 and, where the CPU has it,
   bfloat16), with the achieved GFLOP/s beside a large float32 matrix product (NumPy), the
   practical ceiling of the CPU's fused multiply-adds, and a bfloat16 one (PyTorch) where the
   CPU has bfloat16;
2. a 1920x1280 photo through the Ikomia Workflow with default parameters, per stage, against
   the original plugin's recipe (PIL, torchvision transforms, float64 NumPy compositing), and
   the Workflow with the photo's own colours in the cutout (as the old recipe), on the default
   runtime and on ONNX Runtime in float32 (the default CPU runtime before OpenVINO);
3. a 6000x4000 photo through the Workflow in a subprocess of its own: peak RSS and time relative
   to 1920x1280, beside a subprocess that only loads the session.

All inputs are real PPM-100 photos, decoded and resized before any timing. Timed calls are
interleaved round-robin after a warm-up and summarised by their median, since the machine is
shared and noisy.

Usage: python scripts/benchmark_speed.py [--shared ../shared] [--repeats N] [--threads N]

``--threads`` sets PyTorch's intra-op threads (torch.set_num_threads); ONNX Runtime and
OpenVINO keep their default thread count, as the plugin creates them. To see what an AVX2-only
CPU gets, cap the instruction sets: ``ONEDNN_MAX_CPU_ISA=AVX2`` (OpenVINO and PyTorch's oneDNN)
and ``ATEN_CPU_CAPABILITY=avx2`` (PyTorch's other kernels); ONNX Runtime has no such cap.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
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
NETWORK_SIZE = (768, 512)  # width, height
# Side of the square matrix products that measure the CPU's practical multiply-add ceiling.
MATMUL_SIDE = 3072
E2E_SIZE = (1920, 1280)  # width, height
BIG_SIZE = (6000, 4000)
BIG_REPEATS = 3
# Between timed calls: lets the previous runtime's spinning worker threads go idle first.
PAUSE_S = 0.05
STAGES = ("preprocess", "forward", "postprocess", "foreground", "outputs")
# The Workflow runs of table 2: parameters beside the shared weights and cuda False. The old
# recipe kept the photo's colours, hence the variants with a raw foreground; ONNX Runtime in
# float32 was the default CPU runtime before OpenVINO.
DEFAULT_VARIANT = "default parameters"
E2E_VARIANTS: dict[str, dict[str, str]] = {
    DEFAULT_VARIANT: {},
    "foreground raw": {"foreground": "raw"},
    "ONNX Runtime fp32, foreground raw": {
        "backend": "onnxruntime",
        "precision": "fp32",
        "foreground": "raw",
    },
}
OLD = "old plugin recipe"

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
    return import_workflow(Path(tempfile.mkdtemp(prefix="modnet-bench-")))


# --- 1. the network alone -----------------------------------------------------------------


def benchmark_cache_dir() -> Path:
    """Where the plugin's exports are cached for the benchmarks: the temporary folder, reused
    between runs. Never beside the shared weights: that folder is read-only by convention, and
    a root user would be allowed to write there anyway."""
    return Path(tempfile.gettempdir()) / "modnet-benchmark"


def authors_runner(path: Path) -> Callable[[np.ndarray], np.ndarray]:
    """ONNX Runtime on the authors' export, default session options, the plugin's calling
    convention (NumPy in, NumPy out)."""
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])

    def run(x: np.ndarray) -> np.ndarray:
        return session.run(None, {"input": x})[0]

    return run


def network_macs(model: Any, x: np.ndarray) -> int:
    """Multiply-adds of the convolutions and linear layers of ``model`` on ``x``, counted once
    each by forward hooks (output elements times the weights each one reads)."""
    import torch
    from torch import nn

    counts: list[int] = []

    def count(module: nn.Module, _inputs: object, output: torch.Tensor) -> None:
        counts.append(output.numel() * module.weight[0].numel())

    layers = [m for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    hooks = [layer.register_forward_hook(count) for layer in layers]
    with torch.inference_mode():
        model(torch.from_numpy(x))
    for hook in hooks:
        hook.remove()
    return sum(counts)


def matmul_cases(runtimes: list[tuple[str, str]]) -> dict[str, Callable[[], Any]]:
    """Square float32 matrix products in NumPy (the CPU's practical multiply-add ceiling) and,
    where a runtime here uses bfloat16, bfloat16 ones in PyTorch."""
    import torch

    a = np.random.default_rng(0).standard_normal((MATMUL_SIDE, MATMUL_SIDE), dtype=np.float32)
    cases: dict[str, Callable[[], Any]] = {"NumPy float32 matmul": lambda: a @ a}
    if any(precision == "bf16" for _, precision in runtimes):
        b = torch.from_numpy(a).bfloat16()
        cases["PyTorch bfloat16 matmul"] = lambda: b @ b
    return cases


def network_runners(
    shared: Path, runtimes: list[tuple[str, str]]
) -> dict[tuple[str, str], Callable[[np.ndarray], np.ndarray]]:
    from infer_modnet_portrait_matting.modnet import fold_batch_norms, load_checkpoint
    from infer_modnet_portrait_matting.modnet.runtime.factory import create_runner
    from infer_modnet_portrait_matting.modnet.runtime.torch_runner import TorchRunner

    weights = shared / "models" / WEIGHTS_NAME
    runners = {
        ("torch", "fp32"): TorchRunner(fold_batch_norms(load_checkpoint(weights)), "cpu"),
        ("torch (unfolded)", "fp32"): TorchRunner(load_checkpoint(weights), "cpu"),
        ("onnxruntime (authors' export)", "fp32"): authors_runner(
            shared / "models" / AUTHORS_ONNX_NAME
        ),
    }
    for backend, precision in runtimes:
        runners[backend, precision] = create_runner(
            backend, weights, "cpu", benchmark_cache_dir(), precision
        )
    return runners


def network_input(photo: Path) -> np.ndarray:
    rgb = read_photo(photo, *NETWORK_SIZE)
    return np.ascontiguousarray(rgb.transpose(2, 0, 1)[None], dtype=np.float32) / 127.5 - 1.0


def default_runtime(shared: Path) -> tuple[str, str]:
    """The backend and precision that ``auto`` picks on this CPU."""
    from infer_modnet_portrait_matting.modnet import MattingSession

    session = MattingSession(shared / "models" / WEIGHTS_NAME, cache_dir=benchmark_cache_dir())
    return session.backend, session.precision


def network_table(shared: Path, photo: Path, repeats: int) -> None:
    from infer_modnet_portrait_matting.modnet.runtime.cpu_choice import cpu_runtimes

    runtimes = cpu_runtimes()
    default = default_runtime(shared)
    runners = network_runners(shared, runtimes)
    x = network_input(photo)
    reference = runners["torch", "fp32"](x)
    errors = {case: float(np.abs(run(x) - reference).max()) for case, run in runners.items()}
    macs = network_macs(runners["torch", "fp32"].model, x)
    flops: dict[Any, float] = {case: 2 * macs for case in runners}
    cases: dict[Any, Callable[[], Any]] = {case: (lambda r=r: r(x)) for case, r in runners.items()}
    matmuls = matmul_cases(runtimes)
    cases.update(matmuls)
    flops.update({name: 2 * MATMUL_SIDE**3 for name in matmuls})
    times = interleave(cases, warmup=2, repeats=repeats)
    medians = {case: statistics.median(values) for case, values in times.items()}
    gflops = {case: flops[case] / medians[case] / 1e9 for case in cases}
    ceiling = gflops["NumPy float32 matmul"]

    width, height = NETWORK_SIZE
    print(f"## 1. Network at {width}x{height} (N x 3 x H x W in, alpha out)\n")
    print(
        f"Round-robin, 2 warm-up calls each, then {repeats} timed calls each. The network does "
        f"{macs / 1e9:.1f} G multiply-adds at this size (convolutions and "
        f"linear layers); GFLOP/s counts two operations per multiply-add. The matrix products "
        f"({MATMUL_SIDE}x{MATMUL_SIDE}) run in the same rounds.\n"
    )
    print(
        "| backend | precision | median ms | min ms | vs default | GFLOP/s "
        "| share of float32 matmul | max abs alpha diff vs torch |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for case, values in times.items():
        label = " | ".join(case) if isinstance(case, tuple) else f"{case} | "
        if case == default:
            label += " (default)"
        error = f"{errors[case]:.1e}" if case in errors else ""
        print(
            f"| {label} | {medians[case] * 1e3:.1f} | {min(values) * 1e3:.1f} "
            f"| {medians[case] / medians[default]:.2f}x | {gflops[case]:.0f} "
            f"| {gflops[case] / ceiling:.0%} | {error} |"
        )
    ratio = medians["onnxruntime (authors' export)", "fp32"] / medians["onnxruntime", "fp32"]
    folding = medians["torch (unfolded)", "fp32"] / medians["torch", "fp32"]
    print(f"\nBatchNorm folding speed-up (torch unfolded / torch): {folding:.2f}x")
    print(
        f"Plugin's ONNX export speed-up vs authors' ONNX on ONNX Runtime (authors' median / "
        f"plugin's median, >= {TARGET_AUTHORS_RATIO:g} means at least as fast): {ratio:.2f}x, "
        f"target >= {TARGET_AUTHORS_RATIO:g}: {verdict(ratio >= TARGET_AUTHORS_RATIO)}\n"
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


def e2e_table(workflow_class: type, shared: Path, photo: Path, repeats: int) -> None:
    from infer_modnet_portrait_matting.modnet import load_checkpoint

    image = read_photo(photo, *E2E_SIZE)
    old_model = load_checkpoint(shared / "models" / WEIGHTS_NAME).eval()
    workflows = {
        name: setup_workflow(shared, workflow_class, **parameters)
        for name, parameters in E2E_VARIANTS.items()
    }
    cases: dict[str, Callable[[], object]] = {
        name: (lambda workflow=workflow: workflow.run_on(array=image))
        for name, (workflow, _) in workflows.items()
    }
    cases[OLD] = lambda: old_recipe(image, old_model)
    default, task = DEFAULT_VARIANT, workflows[DEFAULT_VARIANT][1]
    times, stages = interleave_with_stages(task, cases, default, warmup=2, repeats=repeats)
    medians = {name: statistics.median(values) for name, values in times.items()}
    total, old = medians[default], medians[OLD]
    forward = statistics.median(stages["forward"])
    new_matte = task.get_output(1).get_image().astype(np.float32)
    old_matte = old_recipe(image, old_model)[:, :, 3].astype(np.float32)
    matte_diff = float(np.abs(new_matte - old_matte).mean()) / 255
    session = task._session

    width, height = E2E_SIZE
    print(f"## 2. End to end, {width}x{height} photo, Ikomia Workflow\n")
    print(
        f"`workflow.run_on(array=...)` with default parameters (backend {session.backend}, "
        f"precision {session.precision}, foreground estimated), interleaved with the variants "
        f"below and the original plugin's recipe, 2 warm-up runs each, then {repeats} each; "
        "stage times of the default from `task.timings`.\n"
    )
    print("| stage (default parameters) | median ms | share of Workflow total |")
    print("| --- | --- | --- |")
    for stage in STAGES:
        value = statistics.median(stages[stage])
        print(f"| {stage} | {value * 1e3:.1f} | {value / total:.1%} |")
    print(f"| Workflow total (wall) | {total * 1e3:.1f} | 100% |")
    print("\n| run | median ms | speed-up vs the old recipe |")
    print("| --- | --- | --- |")
    for name, median in medians.items():
        print(f"| {name} | {median * 1e3:.1f} | {old / median:.2f}x |")
    share = (total - forward) / total
    print(
        f"\nEverything but forward: {(total - forward) * 1e3:.1f} ms = {share:.1%} of the "
        f"total, target <= {TARGET_OVERHEAD_SHARE:.0%}: {verdict(share <= TARGET_OVERHEAD_SHARE)}"
    )
    print(
        f"Speed-up vs the old recipe (old median / Workflow median), default parameters: "
        f"{old / total:.2f}x, target >= {TARGET_OLD_RATIO:g}x: "
        f"{verdict(old / total >= TARGET_OLD_RATIO)}"
    )
    print(f"Mean abs difference of the two mattes: {matte_diff:.4f} (alpha in [0, 1])\n")


# --- 3. 24 megapixels in a subprocess ------------------------------------------------------


def child_big(shared: Path, photo: Path) -> dict[str, Any]:
    """6000x4000 and 1920x1280 through the Workflow, interleaved; peak RSS at the end."""
    workflow, task = setup_workflow(shared, plugin_workflow_class())
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
    setup_workflow(shared, plugin_workflow_class())
    from infer_modnet_portrait_matting.infer_modnet_portrait_matting_process import (
        WEIGHTS_FOLDER,
    )
    from infer_modnet_portrait_matting.modnet import MattingSession

    session = MattingSession(
        shared / "models" / WEIGHTS_NAME, "cpu", "auto", cache_dir=WEIGHTS_FOLDER
    )
    return {
        "session": f"{session.backend} {session.precision}",
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
    print(f"| peak RSS, baseline: imports + {baseline['session']} session | {base:.0f} MiB | | |")
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


def print_header(photo: Path) -> None:
    import torch

    from infer_modnet_portrait_matting.modnet.runtime.cpu import cpu_name, isa_flags
    from infer_modnet_portrait_matting.modnet.runtime.cpu_choice import RUNTIMES, package_version

    cap = os.environ.get("ONEDNN_MAX_CPU_ISA")
    print("# MODNet plugin speed benchmark (CPU)\n")
    print(
        f"{cpu_name()}, {os.cpu_count()} CPUs; instruction sets: {', '.join(isa_flags())}"
        f"{f' (oneDNN capped at {cap})' if cap else ''}; torch {torch.__version__} "
        f"({torch.get_num_threads()} threads), "
        + ", ".join(f"{runtime} {package_version(runtime)}" for runtime in RUNTIMES)
        + f" (default threads); photo {photo.name}\n"
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
    workflow_class = plugin_workflow_class()
    print_header(photo)
    network_table(args.shared, photo, args.repeats)
    e2e_table(workflow_class, args.shared, photo, args.repeats)
    big_table(args)


if __name__ == "__main__":
    main()
