"""A 1920x1280 photo through the Ikomia Workflow with default parameters, per stage, against
the original plugin's recipe (PIL, torchvision transforms, float64 NumPy compositing), and the
Workflow with the photo's own colours in the cutout (as the old recipe), on the default runtime
and on ONNX Runtime in float32 (the default CPU runtime before OpenVINO); with ``--int8``, also
ONNX Runtime in float32 and in int8 with default parameters otherwise.

The photo is a real PPM-100 photo, decoded and resized before any timing; timed calls are
interleaved round-robin after a warm-up and summarised by their median.

Usage: python scripts/benchmarks/benchmark_photo.py [--shared ../shared] [--repeats N]
       [--threads N] [--int8]
"""

from __future__ import annotations

import argparse
import statistics
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from PIL import Image

from speed_common import (
    E2E_SIZE,
    STAGES,
    WEIGHTS_NAME,
    interleave_with_stages,
    parse_args,
    plugin_workflow_class,
    print_header,
    read_photo,
    setup_workflow,
    verdict,
)

# The Workflow runs: parameters beside the shared weights and cuda False. The old recipe kept
# the photo's colours, hence the variants with a raw foreground; ONNX Runtime in float32 was the
# default CPU runtime before OpenVINO.
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
# The INT8 runs, with --int8: ONNX Runtime in float32 and in int8, default parameters otherwise.
INT8_VARIANTS: dict[str, dict[str, str]] = {
    "ONNX Runtime fp32": {"backend": "onnxruntime", "precision": "fp32"},
    "ONNX Runtime int8": {"backend": "onnxruntime", "precision": "int8"},
}
OLD = "old plugin recipe"
TARGET_OVERHEAD_SHARE = 0.15
TARGET_OLD_RATIO = 4.0


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


def old_recipe(image: np.ndarray, model: Any, device: str = "cpu") -> np.ndarray:
    """The original plugin's pipeline on an RGB uint8 image, returning its RGBA cutout; the
    ``model`` and its input on ``device``."""
    import torch
    import torch.nn.functional as F
    from torchvision import transforms

    transform = transforms.Compose(
        [transforms.ToTensor(), transforms.Normalize((0.5, 0.5, 0.5), (0.5, 0.5, 0.5))]
    )
    im = transform(Image.fromarray(image))[None, :, :, :].to(device)
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


def e2e_table(
    workflow_class: type, shared: Path, photo: Path, repeats: int, variants: dict
) -> None:
    from infer_modnet_portrait_matting.modnet import load_checkpoint

    image = read_photo(photo, *E2E_SIZE)
    old_model = load_checkpoint(shared / "models" / WEIGHTS_NAME).eval()
    workflows = {
        name: setup_workflow(shared, workflow_class, **parameters)
        for name, parameters in variants.items()
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
    print(f"## End to end, {width}x{height} photo, Ikomia Workflow\n")
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


def main() -> None:
    args = parse_args(__doc__.splitlines()[0], add_int8_option)
    workflow_class = plugin_workflow_class()
    print_header("MODNet photo end to end (CPU)", args.photo)
    variants = {**E2E_VARIANTS, **(INT8_VARIANTS if args.int8 else {})}
    e2e_table(workflow_class, args.shared, args.photo, args.repeats, variants)


def add_int8_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--int8",
        action="store_true",
        help="also ONNX Runtime in fp32 and int8, foreground estimated",
    )


if __name__ == "__main__":
    main()
