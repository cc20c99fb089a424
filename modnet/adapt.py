"""Command line of SOC adaptation: ``python -m modnet.adapt FRAMES --out adapted.ckpt``.

FRAMES is a video file or a folder of images. The adapted checkpoint is written in the official
format: give it to the Ikomia task as ``model_weight_file``. Experimental (see docs/soc.md).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from .weights import PHOTOGRAPHIC

# Where the Ikomia task keeps the weights it downloaded.
PLUGIN_WEIGHTS = Path(__file__).resolve().parents[1] / "weights" / PHOTOGRAPHIC.filename


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    from .soc.adapt import (
        DEFAULT_ANCHOR_WEIGHT,
        DEFAULT_AVERAGE_DECAY,
        DEFAULT_EPOCHS,
        DEFAULT_FREEZE_BACKBONE,
        DEFAULT_LEARNING_RATE,
        DEFAULT_WORKING_SIZE,
    )
    from .soc.losses import SOCWeights

    parser = argparse.ArgumentParser(
        prog="python -m modnet.adapt", description=__doc__.splitlines()[0]
    )
    parser.add_argument("frames", type=Path, help="a video file or a folder of images")
    parser.add_argument("--out", type=Path, required=True, help="the adapted checkpoint to write")
    parser.add_argument(
        "--weights",
        type=Path,
        default=PLUGIN_WEIGHTS,
        help="checkpoint to adapt (default: %(default)s)",
    )
    parser.add_argument(
        "--working-size",
        type=int,
        default=DEFAULT_WORKING_SIZE,
        help="short side of the frames while adapting, a multiple of 32",
    )
    parser.add_argument("--epochs", type=int, default=DEFAULT_EPOCHS)
    parser.add_argument("--max-iterations", type=int, help="stop after this many frames")
    parser.add_argument("--max-seconds", type=float, help="stop after this many seconds")
    parser.add_argument("--max-frames", type=int, help="read only the first N frames")
    parser.add_argument("--learning-rate", type=float, default=DEFAULT_LEARNING_RATE)
    parser.add_argument("--semantic-scale", type=float, default=SOCWeights.semantic_scale)
    parser.add_argument("--detail-scale", type=float, default=SOCWeights.detail_scale)
    parser.add_argument(
        "--anchor-weight",
        type=float,
        default=DEFAULT_ANCHOR_WEIGHT,
        help="L2-SP: weight of the pull towards the original weights, 0 for none",
    )
    parser.add_argument(
        "--average-decay",
        type=float,
        default=DEFAULT_AVERAGE_DECAY,
        help="keep a moving average of the weights with this decay, 0 for none",
    )
    parser.add_argument(
        "--freeze-backbone",
        action=argparse.BooleanOptionalAction,
        default=DEFAULT_FREEZE_BACKBONE,
        help="adapt only the branches and heads, not the MobileNetV2 encoder",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--threads",
        type=int,
        help="CPU threads of PyTorch (default: one per core); fewer on a busy machine",
    )
    parser.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N")
    parser.add_argument(
        "--distilled-heads", type=Path, help="heads used when the checkpoint's are zero"
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    from .soc.adapt import SOCSettings, adapt
    from .soc.checkpoint import DISTILLED_HEADS
    from .soc.losses import SOCWeights

    if not args.weights.is_file():
        raise SystemExit(
            f"--weights: no checkpoint at {args.weights}; give the path of a MODNet .ckpt"
        )
    if args.threads is not None:
        if args.threads < 1:
            raise SystemExit(f"--threads: expected an integer >= 1, got {args.threads}")
        import torch

        torch.set_num_threads(args.threads)
    try:
        settings = SOCSettings(
            epochs=args.epochs,
            max_iterations=args.max_iterations,
            max_seconds=args.max_seconds,
            learning_rate=args.learning_rate,
            loss_weights=SOCWeights(args.semantic_scale, args.detail_scale),
            working_size=args.working_size,
            anchor_weight=args.anchor_weight,
            average_decay=args.average_decay,
            freeze_backbone=args.freeze_backbone,
            seed=args.seed,
            device=args.device,
            progress=not args.quiet,
        )
        report = adapt(
            args.weights,
            args.frames,
            args.out,
            settings,
            args.distilled_heads or DISTILLED_HEADS,
            args.max_frames,
        )
    except (ValueError, FileNotFoundError) as error:
        raise SystemExit(f"error: {error}") from None
    print(
        f"{args.out}: adapted on {report.iterations} frames in {report.seconds:.0f} s "
        f"({report.heads} heads); set it as the task's model_weight_file"
    )


if __name__ == "__main__":
    main()
