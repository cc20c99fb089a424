"""Static INT8 for the network's branches after the MobileNetV2 backbone, against float32:
speed at 768x512 and matte quality on a folder of image/alpha pairs.

The plugin's ONNX export is quantized with ONNX Runtime's ``quantize_static`` (QDQ format,
per-channel int8 weights, uint8 activations), the backbone's nodes left in float32 as the
bfloat16 path leaves them. Calibration uses only images the project may ship or make: frames of
the bundled clips (``<shared>/data/videos``), the sample photo, and random crops and flips of
them, each prepared as the session prepares a photo at the default input size. Never the
evaluation photos.

Speed: the network alone at 768x512, float32 and INT8 on ONNX Runtime and on OpenVINO (which
reads the QDQ model and runs its quantized convolutions in int8), timed round-robin. Quality:
each runner through ``MattingSession`` at the default input size, MSE and MAD against the ground
truth and their change from ONNX Runtime in float32 (a precision may be offered only within +2%).

Usage: python scripts/benchmarks/benchmark_int8.py ../shared/data/ppm100-dev [--shared ../shared]
       [--repeats N] [--limit N] [--calibration N]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import cv2
import numpy as np
from benchmark_quality import matte_errors, read_pairs
from benchmark_runtime_quality import print_quality_rows

from plugin_env import REPO
from speed_common import interleave

BACKBONE_SCOPE = "/backbone/"
SPEED_SHAPE = (1, 3, 512, 768)
Runner = Callable[[np.ndarray], np.ndarray]


def calibration_images(shared: Path, count: int, seed: int = 0) -> Iterator[np.ndarray]:
    """RGB uint8 frames of the bundled clips and the sample, then random crops and flips of
    them, ``count`` in all."""
    from modnet.video.frames import video_frames

    sources = [cv2.imread(str(REPO / "samples" / "astronaut.png"))[..., ::-1]]
    for clip in sorted((shared / "data" / "videos").glob("*.mp4")):
        frames = list(video_frames(clip))
        sources += [frames[i] for i in np.linspace(0, len(frames) - 1, 6).astype(int)]
    rng = np.random.default_rng(seed)
    for index in range(count):
        image = sources[index % len(sources)]
        if index >= len(sources):  # augmented: a crop of 50% to 100% of each side, maybe flipped
            h, w = image.shape[:2]
            ch, cw = (int(s * rng.uniform(0.5, 1.0)) for s in (h, w))
            top, left = rng.integers(0, h - ch + 1), rng.integers(0, w - cw + 1)
            image = image[top : top + ch, left : left + cw]
            if rng.random() < 0.5:
                image = image[:, ::-1]
        yield np.ascontiguousarray(image)


def network_input(rgb: np.ndarray, input_size: int = 512) -> np.ndarray:
    """The network's input for ``rgb`` at ``input_size``, as the session prepares it."""
    from modnet.image import network_size, resize
    from modnet.limits import network_pixel_cap

    height, width = network_size(*rgb.shape[:2], input_size, network_pixel_cap(input_size))
    small = resize(rgb, width, height)
    return (small.transpose(2, 0, 1)[None].astype(np.float32) / 127.5 - 1.0).copy()


def quantize(fp32: Path, int8: Path, inputs: list[np.ndarray]) -> None:
    """Writes the QDQ INT8 model of ``fp32`` to ``int8``, backbone excluded."""
    import onnx
    from onnxruntime.quantization import (
        CalibrationDataReader,
        CalibrationMethod,
        QuantFormat,
        QuantType,
        quantize_static,
    )

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self.items = iter(inputs)

        def get_next(self) -> dict[str, np.ndarray] | None:
            x = next(self.items, None)
            return None if x is None else {"input": x}

    backbone = [
        n.name for n in onnx.load(str(fp32)).graph.node if n.name.startswith(BACKBONE_SCOPE)
    ]
    quantize_static(
        str(fp32),
        str(int8),
        Reader(),
        quant_format=QuantFormat.QDQ,
        per_channel=True,
        activation_type=QuantType.QUInt8,
        weight_type=QuantType.QInt8,
        nodes_to_exclude=backbone,
        calibrate_method=CalibrationMethod.MinMax,
        extra_options={"CalibMovingAverage": False},
    )


def ort_runner(path: Path) -> Runner:
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return lambda x: session.run(None, {"input": x})[0]


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


def quality_table(runners: dict[str, Runner], folder: Path, limit: int) -> None:
    from modnet import MattingSession

    session = MattingSession(REPO / "weights" / "modnet_photographic_portrait_matting.ckpt")
    pairs = read_pairs(folder)[: limit or None]
    errors: dict[str, list] = {name: [] for name in runners}
    moved: dict[str, list] = {name: [] for name in runners}
    for image_path, alpha_path in pairs:
        rgb = cv2.imread(str(image_path), cv2.IMREAD_COLOR)[..., ::-1]
        mattes = {}
        for name, runner in runners.items():
            session.network = runner
            mattes[name] = session.predict(rgb).matte
            errors[name].append(matte_errors(mattes[name], alpha_path))
        for name, matte in mattes.items():
            difference = np.abs(matte.astype(np.int16) - mattes["onnxruntime fp32"])
            moved[name].append(difference.ravel())
    print(f"\n{len(pairs)} photos from {folder}, default input size:\n")
    print("| runner | MSE | MAD | MSE change | MAD change | max change | pixels moved > 1 |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    print_quality_rows(errors, moved, "onnxruntime fp32")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--shared", type=Path, default=REPO.parent / "shared")
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--limit", type=int, default=0, help="first N photos only (0: all)")
    parser.add_argument("--calibration", type=int, default=48, help="calibration images")
    parser.add_argument("--skip", choices=("speed", "quality"), help="leave one table out")
    parser.add_argument(
        "--models", type=Path, help="keep the two models here, and reuse them if they are there"
    )
    args = parser.parse_args()
    sys.path.insert(0, str(REPO))  # the core package, importable without Ikomia
    from modnet.runtime.export import export_onnx, load_model

    weights = REPO / "weights" / "modnet_photographic_portrait_matting.ckpt"
    with tempfile.TemporaryDirectory(prefix="modnet-int8-") as temporary:
        folder = args.models or Path(temporary)
        folder.mkdir(parents=True, exist_ok=True)
        fp32, int8 = folder / "fp32.onnx", folder / "int8.onnx"
        if not int8.is_file():
            export_onnx(load_model(weights), fp32)
            images = calibration_images(args.shared, args.calibration)
            quantize(fp32, int8, [network_input(rgb) for rgb in images])
        runners = {
            "onnxruntime fp32": ort_runner(fp32),
            "onnxruntime int8": ort_runner(int8),
            "openvino fp32": openvino_runner(fp32),
            "openvino int8": openvino_runner(int8),
        }
        print(f"# INT8 after the backbone ({args.calibration} calibration images)\n")
        if args.skip != "speed":
            speed_table(runners, args.repeats)
        if args.skip != "quality":
            quality_table(runners, args.folder, args.limit)


if __name__ == "__main__":
    main()
