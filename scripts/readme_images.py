"""Pictures of the README, made through the Ikomia Workflow from the bundled sample.

Usage: python scripts/readme_images.py [--output-dir images]

- studio_overlay.jpg: output 0 with the person mask that Studio draws over it (Ikomia's own
  overlay, from ``set_output_color_map``), blended at half opacity;
- saved_cutout.png: the cutout exactly as ``run_on(folder=...)`` auto-saves it (RGBA PNG).
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


def studio_overlay(task) -> np.ndarray:
    image = task.get_output(0).get_image().astype(np.float32)
    overlay = task.get_output(0).get_overlay_mask().astype(np.float32)
    weight = overlay[..., 3:] / 255.0 * 0.5
    return np.rint(image * (1 - weight) + overlay[..., :3] * weight).astype(np.uint8)


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
    print(f"wrote {args.output_dir / 'studio_overlay.jpg'} and {args.output_dir / 'saved_cutout.png'}")


if __name__ == "__main__":
    main()
