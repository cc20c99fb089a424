"""The README's pictures of clean edges and new backgrounds, made from samples/astronaut.png.

Writes to images/: ``edges_raw_vs_estimated.png``, a crop of the hair over a dark background
with the photo's colours (left) and the estimated ones (right), enlarged 3x without
smoothing; and ``background_<option>.<ext>``, one picture per background option at half size.
The ``image`` option's background is drawn here (a gradient with soft discs), since the
repository ships no other photo.

Usage: python scripts/readme_pictures.py [--weights ../shared/models/...ckpt]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np

from plugin_env import REPO

sys.path.insert(0, str(REPO))  # the core package, importable without Ikomia
from modnet import MattingSession
from modnet.compositing import BACKGROUNDS, over_color, replace_background
from modnet.foreground import estimate_foreground

SAMPLE = REPO / "samples" / "astronaut.png"
OUTPUT = REPO / "images"
HAIR = (slice(40, 136), slice(128, 224))  # rows, columns of the 512 x 512 sample
ZOOM = 4
DARK = (16, 24, 48)
BLUE = (40, 110, 220)


def drawn_background(height: int, width: int) -> np.ndarray:
    """A warm vertical gradient with a few soft light discs, RGB uint8."""
    top, bottom = np.array((250, 170, 90), np.float32), np.array((90, 40, 120), np.float32)
    ramp = np.linspace(0, 1, height, dtype=np.float32)[:, None, None]
    image = top + (bottom - top) * ramp * np.ones((1, width, 1), np.float32)
    y, x = np.mgrid[:height, :width]
    for cy, cx, radius in ((0.25, 0.2, 0.12), (0.6, 0.85, 0.18), (0.8, 0.35, 0.08)):
        disc = np.hypot(y - cy * height, x - cx * width) < radius * width
        image[disc] = 0.6 * image[disc] + 0.4 * 255
    return cv2.GaussianBlur(image, (0, 0), width / 100).astype(np.uint8)


def label(image: np.ndarray, text: str) -> np.ndarray:
    out = image.copy()
    cv2.putText(out, text, (8, 24), cv2.FONT_HERSHEY_SIMPLEX, 0.7, (255, 255, 255), 2)
    return out


def write(name: str, rgb: np.ndarray) -> None:
    path = OUTPUT / name
    if rgb.shape[2] == 4:
        bgr = cv2.cvtColor(rgb, cv2.COLOR_RGBA2BGRA)
    else:
        bgr = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)
    params = [cv2.IMWRITE_JPEG_QUALITY, 88] if path.suffix == ".jpg" else []
    if not cv2.imwrite(str(path), bgr, params):
        raise OSError(f"cannot write {path}")
    print(f"{path.relative_to(REPO)}: {rgb.shape[1]}x{rgb.shape[0]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--weights",
        type=Path,
        default=REPO.parent / "shared" / "models" / "modnet_photographic_portrait_matting.ckpt",
    )
    args = parser.parse_args()

    photo = np.ascontiguousarray(cv2.imread(str(SAMPLE), cv2.IMREAD_COLOR)[..., ::-1])
    session = MattingSession(args.weights, cache_dir=Path(tempfile.gettempdir()) / "modnet-pics")
    matte = session.predict(photo).matte
    foreground = estimate_foreground(photo, matte)
    OUTPUT.mkdir(exist_ok=True)

    crops = []
    for name, colours in (("raw", photo), ("estimated", foreground)):
        crop = over_color(colours, matte, DARK)[HAIR]
        crop = cv2.resize(crop, None, fx=ZOOM, fy=ZOOM, interpolation=cv2.INTER_NEAREST)
        crops.append(label(crop, name))
    write("edges_raw_vs_estimated.png", np.hstack(crops))

    height, width = matte.shape
    backdrop = drawn_background(height, width)
    for background in BACKGROUNDS:
        out = replace_background(
            photo, foreground, matte, background, BLUE, background_image=backdrop
        )
        small = cv2.resize(out, (width // 2, height // 2), interpolation=cv2.INTER_AREA)
        write(f"background_{background}.{'png' if background == 'transparent' else 'jpg'}", small)


if __name__ == "__main__":
    main()
