"""Ways of combining passes of the network, measured on a folder of image/alpha pairs: what the
``quality`` modes chose among.

Each photo goes through the network once per input size (320, 384, 448, 512 and 768); every
variant is built from those passes with the functions of ``modnet/pipeline/multiscale.py`` and
``modnet/pipeline/guided_filter.py``, brought to the photo's size and measured like
``benchmark_quality.py`` (MSE, MAD, Gradient / 1000, Connectivity / 1000), then on each half of
the photos (even and odd positions in name order).

Usage: python scripts/benchmarks/benchmark_quality_variants.py ../shared/data/ppm100-dev
           [--weights PATH] [--backend auto] [--precision auto]
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
from benchmark_quality import METRICS, format_cells, matte_errors, read_pairs

from plugin_env import REPO
from speed_common import benchmark_cache_dir

WEIGHTS = REPO / "weights" / "modnet_photographic_portrait_matting.ckpt"
LARGE = 768
BAND = (0.01, 0.99)  # where the 512 matte hesitates
BAND_DILATION = 2  # pixels of the 768 grid

AlphaAt = Callable[[int], np.ndarray]
Variant = Callable[[AlphaAt, np.ndarray], np.ndarray]


def variants() -> dict[str, Variant]:
    """Name -> function of (the float alpha of a pass at an input size, the RGB photo) giving
    the uint8 matte at the photo's size."""
    from modnet.image import resize
    from modnet.pipeline.guided_filter import guided_upsample
    from modnet.pipeline.multiscale import GUIDE_EPS, GUIDE_RADIUS, fast_alpha

    def plain(alpha: np.ndarray, rgb: np.ndarray) -> np.ndarray:
        # As the session does: rounded to uint8 at the network's size, then enlarged.
        return resize(np.rint(alpha * 255.0).astype(np.uint8), rgb.shape[1], rgb.shape[0])

    def guided(alpha: np.ndarray, rgb: np.ndarray) -> np.ndarray:
        small = resize(rgb, alpha.shape[1], alpha.shape[0])
        refined = guided_upsample(alpha, small, rgb, GUIDE_RADIUS, GUIDE_EPS)
        return np.rint(refined * 255.0).astype(np.uint8)

    def median(alpha_at: AlphaAt, sizes: tuple[int, ...]) -> np.ndarray:
        alphas = [alpha_at(size) for size in sizes]
        height, width = alphas[-1].shape
        return np.median([resize(a, width, height) for a in alphas], axis=0).astype(np.float32)

    def band(alpha_at: AlphaAt) -> np.ndarray:
        large = alpha_at(LARGE)
        semantic = resize(alpha_at(512), large.shape[1], large.shape[0])
        uncertain = ((semantic > BAND[0]) & (semantic < BAND[1])).astype(np.uint8)
        side = 2 * BAND_DILATION + 1
        disc = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (side, side))
        return np.where(cv2.dilate(uncertain, disc) > 0, large, semantic)

    three, four = (384, 448, 512), (320, 384, 448, 512)
    return {
        "one pass at 512 (`fast`, the default)": lambda at, rgb: plain(at(512), rgb),
        "one pass at 768": lambda at, rgb: plain(at(LARGE), rgb),
        "512 pass, with the 768 pass where the 512 matte is between 0.01 and 0.99 (dilated by "
        "2 pixels)": lambda at, rgb: plain(band(at), rgb),
        "512 semantics with 768 details (`fast` at 768)": (
            lambda at, rgb: plain(fast_alpha(at, LARGE), rgb)
        ),
        "512 pass with guided upsampling": lambda at, rgb: guided(at(512), rgb),
        "median of 384, 448, 512, bilinear upsampling": (
            lambda at, rgb: plain(median(at, three), rgb)
        ),
        "median of 384, 448, 512, guided upsampling (`high`)": (
            lambda at, rgb: guided(median(at, three), rgb)
        ),
        "median of 320, 384, 448, 512, guided upsampling": (
            lambda at, rgb: guided(median(at, four), rgb)
        ),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--weights", type=Path, default=WEIGHTS)
    parser.add_argument("--backend", default="auto")
    parser.add_argument("--precision", default="auto")
    args = parser.parse_args()

    sys.path.insert(0, str(REPO))  # the core package, importable without Ikomia
    from modnet import MattingSession

    session = MattingSession(
        args.weights, "cpu", args.backend, benchmark_cache_dir(), args.precision
    )
    table = variants()
    metrics = tuple(metric for metric, _ in METRICS.values())
    scales = np.array([scale for _, scale in METRICS.values()])
    pairs = read_pairs(args.folder)
    errors: dict[str, list[list[float]]] = {name: [] for name in table}
    for image_path, alpha_path in pairs:
        rgb = cv2.imread(str(image_path), cv2.IMREAD_COLOR)[..., ::-1].copy()
        alpha_at = session.passes(rgb)
        for name, build in table.items():
            errors[name].append(matte_errors(build(alpha_at, rgb), alpha_path, metrics))

    print(f"{len(pairs)} image/alpha pairs, {session.backend}, {session.precision}:\n")
    print(f"| variant | {' | '.join(METRICS)} | even half: MSE, MAD | odd half: MSE, MAD |")
    print("| --- |" + " --- |" * (len(METRICS) + 2))
    for name, rows in errors.items():
        values = np.array(rows) / scales
        halves = " | ".join(half_cell(values[start::2, :2].mean(axis=0)) for start in (0, 1))
        print(f"| {name} | {format_cells(values.mean(axis=0))} | {halves} |", flush=True)


def half_cell(means: np.ndarray) -> str:
    """MSE and MAD of a half of the photos, in one cell."""
    return ", ".join(f"{value:.5f}" for value in means)


if __name__ == "__main__":
    main()
