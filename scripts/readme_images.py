"""Pictures of the README, made through the Ikomia Workflow from the bundled sample.

Usage: python scripts/readme_images.py [--output-dir images]

- studio_overlay.jpg: output 0 with the person mask that Studio draws over it (Ikomia's own
  overlay, from ``set_output_color_map``), blended at half opacity;
- saved_cutout.png: the cutout exactly as ``run_on(folder=...)`` auto-saves it (RGBA PNG);
- edges_raw_vs_estimated.png: a crop of the hair on a dark background (output 4) with the
  photo's colours (left) and the estimated ones (right), enlarged 4x without smoothing;
- background_<option>.png/.jpg: the cutout (output 2) for ``transparent``, output 4 for the
  other backgrounds, at half size. The ``image`` background is drawn here (a gradient with soft
  discs), since the repository ships no other picture.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path

import cv2
import numpy as np

from plugin_env import REPO, TASK_NAME, import_workflow

SAMPLE = REPO / "samples" / "astronaut.png"
HAIR = (slice(40, 136), slice(128, 224))  # rows, columns of the 512 x 512 sample
ZOOM = 4
DARK = "16,24,48"
BLUE = "40,110,220"
BACKGROUNDS = ("transparent", "color", "blur", "image")


def studio_overlay(task) -> np.ndarray:
    image = task.get_output(0).get_image().astype(np.float32)
    overlay = task.get_output(0).get_overlay_mask().astype(np.float32)
    weight = overlay[..., 3:] / 255.0 * 0.5
    return np.rint(image * (1 - weight) + overlay[..., :3] * weight).astype(np.uint8)


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


def labelled(image: np.ndarray, text: str) -> np.ndarray:
    out = image.copy()
    cv2.putText(out, text, (8, 24), cv2.FONT_HERSHEY_SIMPLEX, 0.7, (255, 255, 255), 2)
    return out


def write(path: Path, rgb: np.ndarray) -> None:
    conversion = cv2.COLOR_RGBA2BGRA if rgb.shape[2] == 4 else cv2.COLOR_RGB2BGR
    params = [cv2.IMWRITE_JPEG_QUALITY, 88] if path.suffix == ".jpg" else []
    if not cv2.imwrite(str(path), cv2.cvtColor(rgb, conversion), params):
        raise OSError(f"cannot write {path}")


def edges(workflow, task, output_dir: Path) -> None:
    crops = []
    for foreground in ("raw", "estimated"):
        task.set_parameters(
            {"foreground": foreground, "background": "color", "background_color": DARK}
        )
        workflow.run_on(path=str(SAMPLE))
        crop = task.get_output(4).get_image()[HAIR]
        crop = cv2.resize(crop, None, fx=ZOOM, fy=ZOOM, interpolation=cv2.INTER_NEAREST)
        crops.append(labelled(crop, foreground))
    write(output_dir / "edges_raw_vs_estimated.png", np.hstack(crops))


def backgrounds(workflow, task, output_dir: Path, scratch: Path) -> None:
    height, width = cv2.imread(str(SAMPLE)).shape[:2]
    backdrop = scratch / "backdrop.png"
    write(backdrop, drawn_background(height, width))
    task.set_parameters(
        {"foreground": "estimated", "background_color": BLUE, "background_image": str(backdrop)}
    )
    for background in BACKGROUNDS:
        task.set_parameters({"background": background})
        workflow.run_on(path=str(SAMPLE))
        picture = task.get_output(2 if background == "transparent" else 4).get_image()
        small = cv2.resize(picture, (width // 2, height // 2), interpolation=cv2.INTER_AREA)
        suffix = "png" if background == "transparent" else "jpg"
        write(output_dir / f"background_{background}.{suffix}", small)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output-dir", type=Path, default=REPO / "images")
    args = parser.parse_args()
    args.output_dir.mkdir(parents=True, exist_ok=True)

    scratch = Path(tempfile.mkdtemp(prefix="modnet-images-"))
    workflow_class = import_workflow(scratch / "home")

    workflow = workflow_class()
    task = workflow.add_task(name=TASK_NAME, public_hub=False, auto_connect=True)
    workflow.run_on(path=str(SAMPLE))
    overlay = studio_overlay(task)
    cv2.imwrite(str(args.output_dir / "studio_overlay.jpg"), overlay[..., ::-1])
    edges(workflow, task, args.output_dir)
    backgrounds(workflow, task, args.output_dir, scratch)

    # A fresh workflow on a folder, as a user saves results: the file is Ikomia's auto-save.
    photos = scratch / "photos"
    photos.mkdir()
    shutil.copy(SAMPLE, photos / SAMPLE.name)
    workflow = workflow_class()
    workflow.add_task(name=TASK_NAME, public_hub=False, auto_connect=True)
    workflow.set_output_folder(str(scratch / "out"))
    workflow.run_on(folder=str(photos))
    (saved,) = (scratch / "out").rglob(f"*{SAMPLE.stem}_cutout.png")
    shutil.copy(saved, args.output_dir / "saved_cutout.png")
    print(f"wrote the README's pictures to {args.output_dir}")


if __name__ == "__main__":
    main()
