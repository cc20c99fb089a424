"""Matting quality on a folder of image/alpha pairs, through the Ikomia Workflow API.

MSE and MAD of the alpha matte in [0, 1], averaged over each whole image, then over images
(the MODNet paper's PPM-100 protocol). The folder holds ``image/<stem>.<ext>`` and
``alpha/<stem>.<ext>`` (8-bit ground-truth mattes of the same size).

Usage: python scripts/benchmark_quality.py ../shared/data/ppm100-dev [--input-size 512 ...]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

from plugin_env import TASK_NAME, import_workflow


def read_pairs(folder: Path) -> list[tuple[Path, Path]]:
    pairs = []
    for image in sorted((folder / "image").iterdir()):
        alphas = list((folder / "alpha").glob(image.stem + ".*"))
        if not alphas:
            raise FileNotFoundError(f"no ground-truth matte for {image} in {folder / 'alpha'}")
        pairs.append((image, alphas[0]))
    if not pairs:
        raise FileNotFoundError(f"no images in {folder / 'image'}")
    return pairs


def matte_errors(matte: np.ndarray, truth_path: Path) -> tuple[float, float]:
    """MSE and MAD of the uint8 ``matte`` against the ground truth at ``truth_path``."""
    truth = cv2.imread(str(truth_path), cv2.IMREAD_GRAYSCALE).astype(np.float32) / 255
    error = matte.astype(np.float32) / 255 - truth
    return float(np.mean(error**2)), float(np.mean(np.abs(error)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--input-size", nargs="+", default=["512"], help="one row per value")
    parser.add_argument("--model-weight-file", default="", help="default: the plugin's weights")
    args = parser.parse_args()

    pairs = read_pairs(args.folder)
    # A throwaway HOME keeps the benchmark offline and away from the user's Ikomia folder.
    workflow = import_workflow(Path(tempfile.mkdtemp(prefix="modnet-bench-")))()
    task = workflow.add_task(name=TASK_NAME, public_hub=False, auto_connect=True)
    task.set_parameters({"model_weight_file": args.model_weight_file, "cuda": "False"})

    print(f"{len(pairs)} image/alpha pairs from {args.folder}")
    print("| input_size | MSE | MAD | median s/image (CPU, decode excluded) |")
    print("| --- | --- | --- | --- |")
    for input_size in args.input_size:
        task.set_parameters({"input_size": input_size})
        mse, mad, seconds = [], [], []
        for image_path, alpha_path in pairs:
            image = cv2.imread(str(image_path), cv2.IMREAD_COLOR)[..., ::-1].copy()
            start = time.perf_counter()
            workflow.run_on(array=image)
            seconds.append(time.perf_counter() - start)
            image_mse, image_mad = matte_errors(task.get_output(1).get_image(), alpha_path)
            mse.append(image_mse)
            mad.append(image_mad)
        print(
            f"| {input_size} | {np.mean(mse):.5f} | {np.mean(mad):.5f} "
            f"| {statistics.median(seconds):.3f} |"
        )


if __name__ == "__main__":
    main()
