"""How much reduced-precision convolutions would move the matte, part of the network by part.

float16 and TF32 (what cuDNN uses for float32 convolutions on recent NVIDIA GPUs unless told
otherwise) keep 10 mantissa bits. This emulates them on the CPU, where the arithmetic is exact
float32: each convolution of one part of the network gets its input and weights rounded to 10
mantissa bits (TF32), and for float16 its output too; accumulation stays float32, as on tensor
cores. It prints, per part and format, how far the uint8 matte moves from float32's on real
photos at the default input size.

Usage: python scripts/benchmarks/benchmark_precision.py ../shared/data/ppm100-dev [--limit N]
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import torch
from benchmark_quality import read_pairs
from torch import nn

from plugin_env import REPO

WEIGHTS = REPO / "weights" / "modnet_photographic_portrait_matting.ckpt"
PARTS: dict[str, tuple[str, ...]] = {
    "backbone": ("backbone",),
    "semantic branch": ("lr_branch",),
    "detail and fusion branches": ("hr_branch", "f_branch"),
}


def round_mantissa(x: torch.Tensor) -> torch.Tensor:
    """``x`` rounded to 10 mantissa bits (to nearest; float16's range is not emulated)."""
    bits = x.detach().contiguous().view(torch.int32)
    return ((bits + 0x1000) & ~0x1FFF).view(torch.float32)


def emulate(model: nn.Module, parts: tuple[str, ...], round_outputs: bool) -> nn.Module:
    def round_inputs(_: nn.Module, args: tuple) -> tuple:
        return tuple(
            round_mantissa(a) if torch.is_tensor(a) else [round_mantissa(t) for t in a]
            for a in args
        )

    for part in parts:
        for module in getattr(model, part).modules():
            if not isinstance(module, nn.Conv2d):
                continue
            with torch.no_grad():
                module.weight.copy_(round_mantissa(module.weight))
            module.register_forward_pre_hook(round_inputs)
            if round_outputs:
                module.register_forward_hook(lambda _m, _a, out: round_mantissa(out))
    return model


def matte(model: nn.Module, x: torch.Tensor) -> np.ndarray:
    with torch.inference_mode():
        return np.rint(model(x)[0, 0].numpy() * 255).astype(np.int16)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--input-size", type=int, default=512)
    parser.add_argument("--limit", type=int, default=0, help="first N photos only (0: all)")
    args = parser.parse_args()

    sys.path.insert(0, str(REPO))  # the core package, importable without Ikomia
    from modnet import network_size
    from modnet.runtime.export import load_model

    pairs = read_pairs(args.folder)[: args.limit or None]
    reference = load_model(WEIGHTS)
    variants: dict[str, Callable[[], nn.Module]] = {}
    for part, modules in PARTS.items():
        for name, round_outputs in (("float16", True), ("TF32", False)):
            variants[f"{part} | {name}"] = lambda m=modules, r=round_outputs: emulate(
                load_model(WEIGHTS), m, r
            )
    models = {label: build() for label, build in variants.items()}

    changes: dict[str, list[np.ndarray]] = {label: [] for label in models}
    for image_path, _ in pairs:
        rgb = cv2.imread(str(image_path), cv2.IMREAD_COLOR)[..., ::-1]
        height, width = network_size(*rgb.shape[:2], args.input_size)
        small = cv2.resize(rgb, (width, height), interpolation=cv2.INTER_AREA)
        x = torch.from_numpy(small.transpose(2, 0, 1)[None].astype(np.float32) / 127.5 - 1)
        expected = matte(reference, x)
        for label, model in models.items():
            changes[label].append(np.abs(matte(model, x) - expected))

    print(f"{len(pairs)} photos from {args.folder}, input_size {args.input_size}")
    print("| part | format | max change (grey levels) | mean change | pixels moved > 1 |")
    print("| --- | --- | --- | --- | --- |")
    for label, per_photo in changes.items():
        flat = np.concatenate([c.ravel() for c in per_photo])
        print(
            f"| {label} | {flat.max()} | {flat.mean():.4f} "
            f"| {np.count_nonzero(flat > 1) / flat.size:.5%} |"
        )


if __name__ == "__main__":
    main()
