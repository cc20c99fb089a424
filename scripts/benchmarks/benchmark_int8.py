"""Static INT8 for the network's branches after the MobileNetV2 backbone, against float32:
speed at 768x512 and matte quality on a folder of image/alpha pairs.

The model is the one ``precision`` = ``int8`` runs (:mod:`modnet.runtime.int8`): the plugin's
ONNX export quantized by ONNX Runtime's ``quantize_static`` (QDQ format, per-channel int8
weights, uint8 activations), the backbone's nodes left in float32 as the bfloat16 path leaves
them, calibrated on the shipped samples only (:mod:`modnet.runtime.calibration`). The time of
its first build (export included when there is none) is printed.

Speed: the network alone at 768x512, float32 and INT8 on ONNX Runtime and on OpenVINO (which
reads the QDQ model and runs its quantized convolutions in int8), timed round-robin. Quality:
each runner through ``MattingSession`` at an input size (default 512), MSE and MAD against the
ground truth and their change from ONNX Runtime in float32 (a precision may be offered only
within +2%).

Usage: python scripts/benchmarks/benchmark_int8.py ../shared/data/ppm100-dev [--repeats N]
       [--limit N] [--skip speed|quality] [--input-size N] [--models FOLDER]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
from benchmark_quality import matte_errors, read_pairs
from benchmark_runtime_quality import print_quality_rows

from plugin_env import REPO
from speed_common import interleave

SPEED_SHAPE = (1, 3, 512, 768)
WEIGHTS = REPO / "weights" / "modnet_photographic_portrait_matting.ckpt"
Runner = Callable[[np.ndarray], np.ndarray]


def openvino_runner(path: Path) -> Runner:
    import openvino as ov

    compiled = ov.Core().compile_model(
        str(path), "CPU", {"INFERENCE_PRECISION_HINT": "f32", "PERFORMANCE_HINT": "LATENCY"}
    )
    request = compiled.create_infer_request()
    return lambda x: request.infer([x])[0].copy()


def speed_table(runners: dict[str, Runner], repeats: int) -> None:
    x = np.random.default_rng(1).uniform(-1, 1, SPEED_SHAPE).astype(np.float32)
    times = interleave({name: (lambda r=r: r(x)) for name, r in runners.items()}, 2, repeats)
    medians = {name: statistics.median(values) for name, values in times.items()}
    print(f"Network alone at {SPEED_SHAPE[3]}x{SPEED_SHAPE[2]}, {repeats} interleaved calls:\n")
    print("| runner | median ms | vs ONNX Runtime fp32 |")
    print("| --- | --- | --- |")
    base = medians["onnxruntime fp32"]
    for name, median in medians.items():
        print(f"| {name} | {median * 1e3:.1f} | {median / base:.2f}x |")


def quality_table(runners: dict[str, Runner], folder: Path, limit: int, input_size: int) -> None:
    from modnet import MattingSession

    session = MattingSession(WEIGHTS)
    pairs = read_pairs(folder)[: limit or None]
    errors: dict[str, list] = {name: [] for name in runners}
    moved: dict[str, list] = {name: [] for name in runners}
    for image_path, alpha_path in pairs:
        rgb = cv2.imread(str(image_path), cv2.IMREAD_COLOR)[..., ::-1]
        mattes = {}
        for name, runner in runners.items():
            session.network = runner
            mattes[name] = session.predict(rgb, input_size).matte
            errors[name].append(matte_errors(mattes[name], alpha_path))
        for name, matte in mattes.items():
            difference = np.abs(matte.astype(np.int16) - mattes["onnxruntime fp32"])
            moved[name].append(difference.ravel())
    print(f"\n{len(pairs)} photos from {folder}, input size {input_size}:\n")
    print("| runner | MSE | MAD | MSE change | MAD change | max change | pixels moved > 1 |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    print_quality_rows(errors, moved, "onnxruntime fp32")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--limit", type=int, default=0, help="first N photos only (0: all)")
    parser.add_argument("--skip", choices=("speed", "quality"), help="leave one table out")
    parser.add_argument("--input-size", type=int, default=512, help="of the quality table")
    parser.add_argument(
        "--models", type=Path, help="cache the two models here, and reuse them if they are there"
    )
    args = parser.parse_args()
    sys.path.insert(0, str(REPO))  # the core package, importable without Ikomia
    from modnet.runtime.export import export_cache
    from modnet.runtime.int8 import int8_cache, int8_runner
    from modnet.runtime.onnx_runner import onnx_runner

    with tempfile.TemporaryDirectory(prefix="modnet-int8-") as temporary:
        cache = args.models or Path(temporary)
        start = time.perf_counter()
        int8 = int8_runner(WEIGHTS, cache)
        built = time.perf_counter() - start
        fp32 = onnx_runner(WEIGHTS, "cpu", cache)
        paths = [c.find(c.key(WEIGHTS)) for c in (export_cache(cache), int8_cache(cache))]
        runners = {
            "onnxruntime fp32": fp32,
            "onnxruntime int8": int8,
            "openvino fp32": openvino_runner(paths[0]),
            "openvino int8": openvino_runner(paths[1]),
        }
        print("# INT8 after the backbone, calibrated on the shipped samples\n")
        print(f"Loading the INT8 model took {built:.1f} s (quantized if it was not cached).\n")
        if args.skip != "speed":
            speed_table(runners, args.repeats)
        if args.skip != "quality":
            quality_table(runners, args.folder, args.limit, args.input_size)


if __name__ == "__main__":
    main()
