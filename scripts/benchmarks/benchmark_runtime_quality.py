"""Matte quality of each CPU runtime and precision on a folder of image/alpha pairs.

For every backend and precision this machine can run, through ``MattingSession`` at the default
input size: MSE and MAD against the ground truth (as ``benchmark_quality.py`` computes them),
their change from ONNX Runtime in float32, and how far the matte moves from that reference
(largest change in grey levels, share of pixels moved by more than one). A reduced precision
may become the default only where MSE and MAD rise by at most 2%.

Usage: python scripts/benchmarks/benchmark_runtime_quality.py ../shared/data/ppm100-dev [--limit N]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np
from benchmark_quality import matte_errors, read_pairs

from plugin_env import REPO
from speed_common import benchmark_cache_dir

WEIGHTS = REPO / "weights" / "modnet_photographic_portrait_matting.ckpt"
REFERENCE = ("onnxruntime", "fp32")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--weights", type=Path, default=WEIGHTS)
    parser.add_argument("--limit", type=int, default=0, help="first N photos only (0: all)")
    args = parser.parse_args()

    sys.path.insert(0, str(REPO))  # the core package, importable without Ikomia
    from modnet import MattingSession
    from modnet.runtime.cpu_choice import cpu_runtimes

    pairs = read_pairs(args.folder)[: args.limit or None]
    sessions = {
        (backend, precision): MattingSession(
            args.weights, "cpu", backend, benchmark_cache_dir(), precision
        )
        for backend, precision in cpu_runtimes()
    }
    errors = {case: [] for case in sessions}
    changes = {case: [] for case in sessions}
    for image_path, alpha_path in pairs:
        rgb = cv2.imread(str(image_path), cv2.IMREAD_COLOR)[..., ::-1]
        mattes = {case: session.predict(rgb).matte for case, session in sessions.items()}
        for case, matte in mattes.items():
            errors[case].append(matte_errors(matte, alpha_path))
            changes[case].append(np.abs(matte.astype(np.int16) - mattes[REFERENCE]).ravel())

    print(f"{len(pairs)} photos from {args.folder}, default input size")
    print(
        "| backend | precision | MSE | MAD | MSE change | MAD change "
        "| max change (grey levels) | pixels moved > 1 |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    print_quality_rows(
        {" | ".join(case): errors[case] for case in sessions},
        {" | ".join(case): changes[case] for case in sessions},
        " | ".join(REFERENCE),
    )


def print_quality_rows(errors: dict[str, list], changes: dict[str, list], reference: str) -> None:
    """A markdown row per case: its mean MSE and MAD over the photos (``errors``: (MSE, MAD)
    per photo), their change from ``reference``'s, and how far its mattes moved from those of
    ``reference`` (``changes``: absolute differences per photo, in grey levels)."""
    reference_mse, reference_mad = np.mean(errors[reference], axis=0)
    for case, case_errors in errors.items():
        mse, mad = np.mean(case_errors, axis=0)
        moved = np.concatenate(changes[case])
        print(
            f"| {case} | {mse:.5f} | {mad:.5f} | {mse / reference_mse - 1:+.1%} "
            f"| {mad / reference_mad - 1:+.1%} | {moved.max()} "
            f"| {np.count_nonzero(moved > 1) / moved.size:.4%} |"
        )


if __name__ == "__main__":
    main()
