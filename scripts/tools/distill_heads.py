"""Distils MODNet's semantic and detail heads from its own matte (see ``modnet.soc.distill``).

Training images, all unlabeled and none from the PPM-100 evaluation photos: the bundled sample
``samples/astronaut.png`` and every ``--stride``-th frame of the real clips in
``../shared/data/videos``, each as ``crops_per_image`` augmented crops. The frames halfway
between two training frames are held out: the script prints the heads' losses there (semantic:
MSE to the blurred 1/16 matte; detail: L1 to the matte inside its transition band) beside the
zero heads' (0.5 everywhere). Same seed, same machine: the same heads.

Usage: python scripts/tools/distill_heads.py [--shared ../shared]
       [--out modnet/soc/distilled_heads.npz]
       [--stride 24] [--steps 200] [--batch-size 4] [--seed 0]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[2]


def video_frames(paths: list[Path], stride: int, offset: int) -> list[np.ndarray]:
    from modnet.soc.frames import iterate_frames

    return [
        frame
        for path in paths
        for index, frame in enumerate(iterate_frames(path))
        if index % stride == offset
    ]


@torch.no_grad()
def held_out_losses(model, frames: list[np.ndarray]) -> tuple[float, float]:
    """Mean (semantic, detail) distillation losses of ``model``'s heads on ``frames``."""
    from modnet.soc.frames import read_frames, to_tensor_batch
    from modnet.soc.losses import distillation_losses

    losses = []
    for frame in read_frames(frames, 256):
        semantic, detail, matte = model(torch.from_numpy(to_tensor_batch([frame])))
        losses.append([loss.item() for loss in distillation_losses(semantic, detail, matte)])
    return tuple(np.mean(losses, axis=0))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=REPO.parent / "shared")
    parser.add_argument("--out", type=Path, default=REPO / "modnet" / "soc" / "distilled_heads.npz")
    parser.add_argument("--stride", type=int, default=24, help="every Nth video frame trains")
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    sys.path.insert(0, str(REPO))  # the core, importable without installing the plugin
    from modnet import load_checkpoint
    from modnet.soc.checkpoint import save_heads
    from modnet.soc.distill import DistillSettings, distill_heads
    from modnet.soc.frames import read_frames
    from modnet.soc.heads import Heads, SubObjectiveNet

    network = load_checkpoint(args.shared / "models" / "modnet_photographic_portrait_matting.ckpt")
    videos = sorted((args.shared / "data" / "videos").glob("*.mp4"))
    sample = read_frames(REPO / "samples" / "astronaut.png", 512)
    training = sample + video_frames(videos, args.stride, 0)
    held_out = video_frames(videos, args.stride, args.stride // 2)
    print(f"{len(training)} training images, {len(held_out)} held-out frames")

    start = time.perf_counter()
    heads, _ = distill_heads(
        network,
        training,
        DistillSettings(steps=args.steps, batch_size=args.batch_size, seed=args.seed),
    )
    print(f"distilled in {time.perf_counter() - start:.0f} s")
    save_heads(heads, args.out)
    print(f"wrote {args.out} ({args.out.stat().st_size} bytes)\n")

    print("| heads | held-out semantic MSE | held-out detail L1 in the band |")
    print("| --- | --- | --- |")
    for name, candidate in (("zero", zero_heads(Heads())), ("distilled", heads)):
        semantic, detail = held_out_losses(SubObjectiveNet(network, candidate).eval(), held_out)
        print(f"| {name} | {semantic:.5f} | {detail:.5f} |")


def zero_heads(heads):
    """``heads`` with every convolution zero, as in a checkpoint rebuilt from the ONNX export."""
    with torch.no_grad():
        for name, parameter in heads.named_parameters():
            if "bnorm" not in name:
                parameter.zero_()
    return heads


if __name__ == "__main__":
    main()
