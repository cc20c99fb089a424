"""Where the core's bounds come from and what they cost, as three markdown tables.

1. ``input-size``: matte quality on every ``--every``-th PPM-100 dev photo at input sizes up to
   and past ``INPUT_SIZE_MAX``, the network run at the plain short-side size (no bound): MSE
   against the ground truth, and the matte's mass relative to the ground truth's (median, and
   the worst photo). ``INPUT_SIZE_MAX`` is the largest size at which every photo keeps at least
   90% of its matte.
2. ``budget``: seconds and peak resident memory of matting one image, each case in a process of
   its own (``scripts/benchmarks/memory_probe.py``): ordinary photos, and shapes whose network
   input is capped (``modnet.limits.network_pixel_cap``), per backend.
3. ``arena``: ONNX Runtime's arena modes (``modnet.runtime.onnx_runner.ARENA_MODES``): median
   seconds on ordinary photos at input size 512, modes interleaved round-robin; and the resident
   memory after an unusual image, each mode in a process of its own.

Usage: python scripts/benchmarks/benchmark_limits.py [--shared ../shared]
       [--part input-size budget arena]
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

import cv2
import numpy as np
from benchmark_quality import read_pairs

from memory_probe import run_probe
from plugin_env import REPO, temporary_folder
from speed_common import interleave

WEIGHTS_NAME = "modnet_photographic_portrait_matting.ckpt"
PARTS = ("input-size", "budget", "arena")
# Safety net for the budget and arena probes: far above what any case should use.
PROBE_LIMIT_MIB = 8000.0
ORDINARY = (1280, 1920)  # height, width
UNUSUAL = (1, 5000)


def input_size_table(session, shared: Path, sizes: list[int], every: int) -> None:
    from modnet.image import network_size, resize

    pairs = read_pairs(shared / "data" / "ppm100-dev")[::every]
    print(f"\n## Quality past the bound ({len(pairs)} photos: every {every}th of the dev set)\n")
    print("| input_size | MSE | matte mass / truth (median) | (worst photo) |")
    print("| --- | --- | --- | --- |")
    unbounded = 1 << 62
    for size in sizes:
        errors, masses = [], []
        for image_path, alpha_path in pairs:
            rgb = np.ascontiguousarray(cv2.imread(str(image_path))[..., ::-1])
            truth = cv2.imread(str(alpha_path), cv2.IMREAD_GRAYSCALE) / 255.0
            # The public predict refuses sizes past the bound (and above 512 keeps the semantics
            # of a 512 pass): one pass of the network at the unbounded size, as uint8.
            net = network_size(*rgb.shape[:2], size, unbounded)
            alpha = np.rint(session._alpha(rgb, net) * 255.0).astype(np.uint8)
            matte = resize(alpha, rgb.shape[1], rgb.shape[0]) / 255.0
            errors.append(float(np.mean((matte - truth) ** 2)))
            masses.append(float(matte.sum() / truth.sum()))
        print(
            f"| {size} | {np.mean(errors):.5f} | {statistics.median(masses):.3f} "
            f"| {min(masses):.3f} |",
            flush=True,
        )


def budget_table(weights: Path, cache: Path) -> None:
    from modnet import ASPECT_ALLOWANCE, INPUT_SIZE_MAX, MAX_NETWORK_PIXELS, network_size

    cases = [
        ("onnxruntime", ORDINARY, 512),
        ("onnxruntime", (4000, 6000), INPUT_SIZE_MAX),
        ("onnxruntime", (333, 517), INPUT_SIZE_MAX),
        ("onnxruntime", (100, 5000), INPUT_SIZE_MAX),
        ("onnxruntime", (16, 5000), 512),
        ("onnxruntime", UNUSUAL, 512),
        ("onnxruntime", UNUSUAL[::-1], INPUT_SIZE_MAX),
        ("torch", ORDINARY, 512),
        ("torch", (100, 5000), INPUT_SIZE_MAX),
        ("torch", UNUSUAL, 512),
    ]
    print(
        f"\n## Budget per image (network input at most {ASPECT_ALLOWANCE} x input_size^2 and "
        f"{MAX_NETWORK_PIXELS} pixels)\n"
    )
    print("| backend | image (h x w) | input_size | network input | s | peak MiB | loaded MiB |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for backend, shape, size in cases:
        report = run_probe(weights, cache, backend, size, [shape], PROBE_LIMIT_MIB)
        net = network_size(*shape, size)
        image = report["images"][0]
        assert image["matte_shape"] == list(shape)
        print(
            f"| {backend} | {shape[0]} x {shape[1]} | {size} | {net[0]} x {net[1]} "
            f"| {image['seconds']:.2f} | {report['peak_mib']:.0f} | {report['loaded_mib']:.0f} |",
            flush=True,
        )


def arena_table(shared: Path, weights: Path, cache: Path, photos: int, repeats: int) -> None:
    from modnet import network_size
    from modnet.runtime.export import export_cache
    from modnet.runtime.onnx_runner import ARENA_MODES, OnnxRuntimeRunner

    inputs = []
    for image_path, _ in read_pairs(shared / "data" / "ppm100-dev")[:photos]:
        rgb = cv2.imread(str(image_path))[..., ::-1]
        height, width = network_size(*rgb.shape[:2], 512)
        small = cv2.resize(rgb, (width, height), interpolation=cv2.INTER_AREA)
        inputs.append(np.ascontiguousarray(small.transpose(2, 0, 1)[None], np.float32) / 127.5 - 1)
    exports = export_cache(cache)
    path = exports.find(exports.key(weights))
    runners = {mode: OnnxRuntimeRunner(path, "cpu", arena=mode) for mode in ARENA_MODES}
    cases = {mode: (lambda r=runner: [r(x) for x in inputs]) for mode, runner in runners.items()}
    times = interleave(cases, warmup=1, repeats=repeats)
    base = statistics.median(times[ARENA_MODES[0]])
    print(
        f"\n## ONNX Runtime arena ({photos} photos at 512 per call, {repeats} interleaved calls)\n"
    )
    print(
        f"| mode | median s per call | vs {ARENA_MODES[0]} | MiB after {ORDINARY}, {UNUSUAL}, "
        f"{ORDINARY} | MiB after {UNUSUAL}, {ORDINARY} |"
    )
    print("| --- | --- | --- | --- | --- |")
    for mode in ARENA_MODES:
        after = []
        for shapes in ([ORDINARY, UNUSUAL, ORDINARY], [UNUSUAL, ORDINARY]):
            report = run_probe(
                weights, cache, "onnxruntime", 512, shapes, PROBE_LIMIT_MIB, arena=mode
            )
            after.append(", ".join(f"{image['after_mib']:.0f}" for image in report["images"]))
        median = statistics.median(times[mode])
        print(f"| {mode} | {median:.3f} | {median / base:.2f}x | {after[0]} | {after[1]} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=REPO.parent / "shared")
    parser.add_argument("--part", nargs="+", choices=PARTS, default=list(PARTS))
    parser.add_argument("--sizes", nargs="+", type=int, default=[512, 1024, 1280, 1536, 2048])
    parser.add_argument("--every", type=int, default=4, help="input-size: every n-th photo")
    parser.add_argument("--photos", type=int, default=5, help="arena: ordinary photos per call")
    parser.add_argument("--repeats", type=int, default=7, help="arena: timed calls per mode")
    args = parser.parse_args()

    sys.path.insert(0, str(REPO))  # the core package, importable without Ikomia
    import onnxruntime

    from modnet import MattingSession

    weights = (args.shared / "models" / WEIGHTS_NAME).resolve()
    cache = temporary_folder("modnet-limits-")
    session = MattingSession(weights, cache_dir=cache)  # builds the export the probes share
    print(
        f"# MODNet bounds (CPU; input-size: {session.backend} {session.precision}; "
        f"budget and arena: onnxruntime {onnxruntime.__version__} unless named)"
    )
    if "input-size" in args.part:
        input_size_table(session, args.shared, args.sizes, args.every)
    if "budget" in args.part:
        budget_table(weights, cache)
    if "arena" in args.part:
        arena_table(args.shared, weights, cache, args.photos, args.repeats)


if __name__ == "__main__":
    main()
