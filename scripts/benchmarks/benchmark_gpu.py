"""Every GPU figure in one command, through the core ``modnet`` package (Ikomia not needed): a
1920x1280 photo end to end per parameter set, ``quality`` high, 720p video per ``temporal``, the
network alone per precision, batch and CUDA graph, a 24-megapixel photo with the GPU's peak
memory, and the precision of float16 against IEEE float32 on the dev photos' ground truth.

Timings are medians of calls made after a warm-up, the GPU synchronised around each; every
photo is decoded and resized before any timing. Sized to finish in a few minutes on one GPU.
Without a CUDA GPU it says so and exits with status 2.

Usage: python scripts/benchmarks/benchmark_gpu.py [--shared ../shared] [--repeats N]
       [--frames N] [--photos N]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from plugin_env import REPO

NEEDS_CUDA = (
    "benchmark_gpu.py needs CUDA: torch.cuda.is_available() is False here, so there is no GPU "
    "to measure; run it on a machine with an NVIDIA GPU"
)
WEIGHTS_NAME = "modnet_photographic_portrait_matting.ckpt"
VIDEO_NAME = "talking_720p.mp4"
# The network size of a 1080p frame at input size 512, and of a square photo.
FRAME_SIZE = (512, 896)
SQUARE_SIZE = (512, 512)
BIG_SIZE = (6000, 4000)  # width, height: 24 megapixels
PRECISION_SIDE = 1280  # the dev photos' long side for the precision table


def median_ms(call: Callable[[], Any], repeats: int, warmup: int = 3) -> float:
    """Median milliseconds of ``call()``, the GPU synchronised before and after each."""
    import torch

    for _ in range(warmup):
        call()
    times = []
    for _ in range(repeats):
        torch.cuda.synchronize()
        start = time.perf_counter()
        call()
        torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


def photo_table(shared: Path, cache: Path, repeats: int) -> None:
    from benchmark_photo import old_recipe

    from modnet import MattingSession, OutputSettings, load_checkpoint, make_outputs
    from speed_common import E2E_SIZE, PHOTO_NAME, read_photo

    weights = shared / "models" / WEIGHTS_NAME
    image = read_photo(shared / "data" / "ppm100-dev" / "image" / PHOTO_NAME, *E2E_SIZE)
    sessions = {
        precision: MattingSession(weights, "cuda", "torch", cache, precision)
        for precision in ("auto", "fp32")
    }
    default = sessions["auto"]
    old_model = load_checkpoint(weights).eval().cuda()

    def everything(session: MattingSession, settings: OutputSettings, **predict: Any):
        result = session.predict(image, **predict)
        return make_outputs(result, settings, None, session.output_device)

    cases: dict[str, Callable[[], Any]] = {
        "`predict`, defaults (fast, 512): the matte": lambda: default.predict(image),
        "matte + estimated foreground, cutout, composite, mask": lambda: everything(
            default, OutputSettings()
        ),
        "matte + raw cutout, composite, mask": lambda: everything(
            default, OutputSettings(foreground="raw")
        ),
        "matte + outputs, background blur": lambda: everything(
            default, OutputSettings(background="blur")
        ),
        "`quality=high` + outputs": lambda: everything(default, OutputSettings(), quality="high"),
        "`input_size=1024` + outputs": lambda: everything(
            default, OutputSettings(), input_size=1024
        ),
        "defaults + outputs, `precision=fp32`": lambda: everything(
            sessions["fp32"], OutputSettings()
        ),
        "the previous plugin's recipe (PIL, torchvision, 800, float64)": lambda: old_recipe(
            image, old_model, "cuda"
        ),
    }
    print(f"\n## A {E2E_SIZE[0]}x{E2E_SIZE[1]} photo end to end ({PHOTO_NAME})\n")
    print(f"precision auto = {default.precision}; medians of {repeats} calls\n")
    print("| what | median ms |\n| --- | --- |")
    for name, call in cases.items():
        print(f"| {name} | {median_ms(call, repeats):.1f} |", flush=True)
    timings: dict[str, float] = {}
    make_outputs(default.predict(image, timings=timings), OutputSettings(), None, "cuda", timings)
    stages = ", ".join(f"{stage} {1000 * seconds:.1f}" for stage, seconds in timings.items())
    print(f"\nStages of one call with the defaults, ms: {stages}")


def read_frames(path: Path, count: int) -> list[np.ndarray]:
    capture, frames = cv2.VideoCapture(str(path)), []
    while len(frames) < count and (read := capture.read())[0]:
        frames.append(cv2.cvtColor(read[1], cv2.COLOR_BGR2RGB))
    capture.release()
    if not frames:
        raise FileNotFoundError(f"no frames read from {path}")
    return frames


def video_table(shared: Path, cache: Path, frames_count: int) -> None:
    from modnet import FilePosition, MatteStream, MattingSession, OutputSettings, make_outputs

    video = shared / "data" / "videos" / VIDEO_NAME
    frames = read_frames(video, frames_count)
    session = MattingSession(shared / "models" / WEIGHTS_NAME, "cuda", "torch", cache)
    print(f"\n## 720p video through the core ({VIDEO_NAME}, first {len(frames)} frames)\n")
    print(
        "Frames decoded beforehand; the stream reads the next ones ahead with a decoder of its "
        "own (timed) and mattes them 8 at a time. "
        "fps = frames / seconds of the whole loop, after one untimed pass.\n"
    )
    print("| temporal | mattes only, fps | mattes + outputs, fps |\n| --- | --- | --- |")
    for temporal in ("none", "ofd", "stable"):
        row = []
        for outputs in (False, True):
            seconds = []
            for _ in range(2):  # the first pass warms up
                stream = MatteStream()
                start = time.perf_counter()
                for index, frame in enumerate(frames):
                    answer = stream.matte(
                        frame,
                        session.predict,
                        temporal,
                        position=FilePosition(str(video), index),
                        predict_batch=session.predict_batch,
                    )
                    if outputs:
                        make_outputs(answer.result, OutputSettings(), None, session.output_device)
                seconds.append(time.perf_counter() - start)
            row.append(f"{len(frames) / seconds[-1]:.1f}")
        print(f"| {temporal} | {' | '.join(row)} |", flush=True)


def network_table(shared: Path, repeats: int) -> None:
    import torch

    from modnet.runtime.export import load_model
    from modnet.runtime.torch_runner import TorchRunner, ieee_float32

    weights = shared / "models" / WEIGHTS_NAME
    # (precision, channels-last, graph shapes, batch, network size)
    cases = [
        ("fp32", False, 0, 1, FRAME_SIZE),
        ("fp32", True, 0, 1, FRAME_SIZE),
        ("fp32", True, 4, 1, FRAME_SIZE),
        ("fp16", False, 0, 1, FRAME_SIZE),
        ("fp16", True, 0, 1, FRAME_SIZE),
        ("fp16", True, 4, 1, FRAME_SIZE),
        ("fp32", True, 4, 8, FRAME_SIZE),
        ("fp16", True, 4, 8, FRAME_SIZE),
        ("fp16", True, 4, 16, FRAME_SIZE),
        ("fp16", True, 4, 16, SQUARE_SIZE),
    ]
    print("\n## The network alone (IEEE float32 or float16)\n")
    print(
        "| precision | channels-last | CUDA graph | batch | size | ms per call | ms per frame "
        "| frames/s |\n| --- | --- | --- | --- | --- | --- | --- | --- |"
    )
    for precision, channels_last, graphs, batch, size in cases:
        runner = TorchRunner(load_model(weights), "cuda", precision, channels_last, graphs)
        x = torch.rand(batch, 3, *size, device="cuda") * 2 - 1

        def call(runner=runner, x=x) -> None:
            with torch.inference_mode(), ieee_float32():
                runner.forward(x)

        ms = median_ms(call, repeats)
        print(
            f"| {precision} | {'yes' if channels_last else 'no'} | {'yes' if graphs else 'no'} "
            f"| {batch} | {size[0]}x{size[1]} | {ms:.2f} | {ms / batch:.2f} "
            f"| {1000 * batch / ms:.0f} |",
            flush=True,
        )
        del runner, x
        torch.cuda.empty_cache()


def big_photo_table(shared: Path, cache: Path, repeats: int) -> None:
    import torch

    from modnet import MattingSession, OutputSettings, make_outputs
    from speed_common import PHOTO_NAME, read_photo

    image = read_photo(shared / "data" / "ppm100-dev" / "image" / PHOTO_NAME, *BIG_SIZE)
    session = MattingSession(shared / "models" / WEIGHTS_NAME, "cuda", "torch", cache)

    def everything() -> None:
        make_outputs(session.predict(image), OutputSettings(), None, session.output_device)

    everything()
    torch.cuda.reset_peak_memory_stats()
    ms = median_ms(everything, max(3, repeats // 4), warmup=1)
    peak = torch.cuda.max_memory_allocated() / 2**20
    print(f"\n## A {BIG_SIZE[0]}x{BIG_SIZE[1]} (24 MP) photo, default parameters\n")
    print("| what | median ms | GPU peak (max_memory_allocated), MiB |\n| --- | --- | --- |")
    print(f"| matte + all outputs | {ms:.1f} | {peak:.0f} |", flush=True)


def precision_table(shared: Path, cache: Path, limit: int) -> None:
    from benchmark_quality import read_pairs

    from matting_metrics import mad, mse
    from modnet import MattingSession

    weights = shared / "models" / WEIGHTS_NAME
    sessions = {p: MattingSession(weights, "cuda", "torch", cache, p) for p in ("fp32", "fp16")}
    pairs = read_pairs(shared / "data" / "ppm100-dev")
    pairs = pairs[:limit] if limit else pairs
    errors: dict[str, list[tuple[float, float]]] = {name: [] for name in sessions}
    largest, moved, pixels = 0, 0, 0
    for image_path, alpha_path in pairs:
        image = cv2.imread(str(image_path), cv2.IMREAD_COLOR)[..., ::-1]
        truth = cv2.imread(str(alpha_path), cv2.IMREAD_GRAYSCALE)
        scale = PRECISION_SIDE / max(image.shape[:2])
        size = (round(image.shape[1] * scale), round(image.shape[0] * scale))
        image = cv2.resize(np.ascontiguousarray(image), size, interpolation=cv2.INTER_AREA)
        truth = cv2.resize(truth, size, interpolation=cv2.INTER_AREA).astype(np.float32) / 255
        mattes = {name: session.predict(image).matte for name, session in sessions.items()}
        for name, matte in mattes.items():
            prediction = matte.astype(np.float32) / 255
            errors[name].append((mse(prediction, truth), mad(prediction, truth)))
        change = np.abs(mattes["fp16"].astype(np.int16) - mattes["fp32"])
        largest, moved = max(largest, int(change.max())), moved + int((change > 2).sum())
        pixels += change.size
    means = {name: np.mean(values, axis=0) for name, values in errors.items()}
    reference = means["fp32"]
    print(
        f"\n## Precision on the GPU's own kernels: {len(pairs)} dev photos, long side "
        f"{PRECISION_SIDE}, input size 512, against the ground truth\n"
    )
    print("| precision | MSE | MAD | MSE change | MAD change |\n| --- | --- | --- | --- | --- |")
    for name, (mse_value, mad_value) in means.items():
        mse_change, mad_change = (100 * (means[name] / reference - 1)).tolist()
        print(
            f"| {name} | {mse_value:.6f} | {mad_value:.6f} | {mse_change:+.2f}% "
            f"| {mad_change:+.2f}% |"
        )
    print(
        f"\nfp16 against fp32: largest pixel change {largest} grey levels, "
        f"{100 * moved / pixels:.3f}% of pixels moved by more than 2."
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=REPO.parent / "shared")
    parser.add_argument("--repeats", type=int, default=20, help="timed calls per row")
    parser.add_argument("--frames", type=int, default=150, help="video frames per pass")
    parser.add_argument("--photos", type=int, default=0, help="dev photos (0: all)")
    args = parser.parse_args()
    import torch

    if not torch.cuda.is_available():
        print(NEEDS_CUDA, file=sys.stderr)
        sys.exit(2)
    sys.path.insert(0, str(REPO))  # the core package, importable without Ikomia
    shared = args.shared.resolve()
    print("# MODNet on a GPU\n")
    print(
        f"{torch.cuda.get_device_name()}, torch {torch.__version__}, CUDA {torch.version.cuda}; "
        f"timings are medians, the GPU synchronised around each call"
    )
    with tempfile.TemporaryDirectory(prefix="modnet-gpu-") as cache:
        photo_table(shared, Path(cache), args.repeats)
        video_table(shared, Path(cache), args.frames)
        network_table(shared, args.repeats)
        big_photo_table(shared, Path(cache), args.repeats)
        precision_table(shared, Path(cache), args.photos)


if __name__ == "__main__":
    main()
