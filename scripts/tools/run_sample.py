"""Mattes one photo through the Ikomia Workflow API and writes matte.png and cutout.png.

Usage: python scripts/tools/run_sample.py [IMAGE] [--output-dir DIR] [--input-size N]
                                    [--model-weight-file CKPT]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2

# The helpers shared with the benchmarks and the tests live beside the benchmarks.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from plugin_env import REPO, TASK_NAME, import_workflow


def write(path: Path, image) -> None:
    # cv2.imwrite reports failure by returning False (or raising, depending on the cause).
    try:
        written = cv2.imwrite(str(path), image)
    except cv2.error as error:
        raise SystemExit(f"cannot write {path}: {error}") from None
    if not written:
        raise SystemExit(f"cannot write {path}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("image", nargs="?", default=str(REPO / "samples" / "astronaut.png"))
    parser.add_argument("--output-dir", default=".", type=Path)
    parser.add_argument("--input-size", default="512")
    parser.add_argument("--model-weight-file", default="", help="default: the plugin's weights")
    args = parser.parse_args()

    workflow = import_workflow()()
    task = workflow.add_task(name=TASK_NAME, public_hub=False, auto_connect=True)
    task.set_parameters(
        {"input_size": args.input_size, "model_weight_file": args.model_weight_file}
    )
    workflow.run_on(path=args.image)

    try:
        args.output_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise SystemExit(f"cannot write into {args.output_dir}: {error}") from None
    matte = task.get_output(1).get_image()
    cutout = task.get_output(2).get_image()
    # Written with OpenCV: CImageIO.save would drop the cutout's alpha channel.
    write(args.output_dir / "matte.png", matte)
    write(args.output_dir / "cutout.png", cv2.cvtColor(cutout, cv2.COLOR_RGBA2BGRA))
    person = task.get_output(3).get_mask().mean()
    print(
        f"{args.image}: {matte.shape[1]}x{matte.shape[0]}, person covers {person:.1%}; "
        f"wrote {args.output_dir / 'matte.png'} and {args.output_dir / 'cutout.png'}"
    )


if __name__ == "__main__":
    main()
