"""Pictures of the README, made through the Ikomia Workflow from the bundled sample.

Usage: python scripts/tools/readme_images.py [--output-dir images]

- studio_overlay.jpg: output 0 with the person mask that Studio draws over it (the overlay the
  task sets on output 0, the one Ikomia would make from ``set_output_color_map``), blended at
  half opacity;
- saved_cutout.png: the cutout exactly as ``run_on(folder=...)`` auto-saves it (RGBA PNG);
- edges_raw_vs_estimated.png: a crop of the hair on a dark background (output 4) with the
  photo's colours (left) and the estimated ones (right), enlarged 4x without smoothing;
- background_<option>.png/.jpg: the cutout (output 2) for ``transparent``, output 4 for the
  other backgrounds, at half size. The ``image`` background is drawn here (a gradient with soft
  discs), since the repository ships no other picture;
- ../samples/astronaut_pan.mp4: a camera panning over the sample (see ``synthetic_clips.py``),
  framed on the person by the sample's matte;
- video_stable.jpg: a crop of three consecutive frames of that clip, run through the Workflow
  as a video file, with their mattes with ``temporal`` none and stable, enlarged 2x.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

import cv2
import numpy as np

# The helpers shared with the benchmarks and the tests live beside the benchmarks.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from plugin_env import REPO, TASK_NAME, add_recorded_task, import_workflow, temporary_folder
from synthetic_clips import synthetic_clip

SAMPLE = REPO / "samples" / "astronaut.png"
SAMPLE_CLIP = REPO / "samples" / "astronaut_pan.mp4"
CLIP_FRAMES = 40
CLIP_SIZE = (384, 384)  # width, height: the sample seen through a window of 3/4 of its side
CLIP_FPS = 20
# Where the matte of the per-frame method flickers: the shoulder's edge over the helmet.
STEADY_CROP = (slice(250, 378), slice(250, 378))
STEADY_FRAMES = (14, 15, 16)
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
    """White text outlined in black: readable on any picture."""
    out = image.copy()
    for colour, thickness in (((0, 0, 0), 4), ((255, 255, 255), 2)):
        cv2.putText(out, text, (8, 24), cv2.FONT_HERSHEY_SIMPLEX, 0.7, colour, thickness)
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


def sample_clip(workflow, task, scratch: Path) -> None:
    """Writes SAMPLE_CLIP: the camera pans over the sample, framed by the sample's matte."""
    task.set_parameters({"temporal": "none"})
    workflow.run_on(path=str(SAMPLE))
    alpha = scratch / "astronaut_alpha.png"
    cv2.imwrite(str(alpha), task.get_output(1).get_image())
    clip = synthetic_clip(SAMPLE, alpha, "pan", CLIP_FRAMES, CLIP_SIZE)
    fourcc = cv2.VideoWriter_fourcc(*"mp4v")
    writer = cv2.VideoWriter(str(SAMPLE_CLIP), fourcc, CLIP_FPS, CLIP_SIZE)
    for frame in clip.frames():
        writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    writer.release()


def clip_runs(workflow_class, temporal: str) -> list[tuple[np.ndarray, np.ndarray]]:
    """(frame, matte) of every frame of SAMPLE_CLIP, run as a video file with ``temporal``."""
    runs = []

    def record(task) -> None:
        runs.append((task.get_output(0).get_image(), task.get_output(1).get_image()))

    workflow = workflow_class()
    task = add_recorded_task(workflow, record)
    task.set_parameters({"temporal": temporal})
    workflow.run_on(path=str(SAMPLE_CLIP))
    return runs


def steady_edges(workflow_class, output_dir: Path) -> None:
    """Frames of SAMPLE_CLIP (left) and their mattes with temporal none and stable."""
    none, stable = (clip_runs(workflow_class, temporal) for temporal in ("none", "stable"))
    rows = []
    for t in STEADY_FRAMES:
        tiles = {
            f"frame {t}": none[t][0],
            "none": cv2.cvtColor(none[t][1], cv2.COLOR_GRAY2RGB),
            "stable": cv2.cvtColor(stable[t][1], cv2.COLOR_GRAY2RGB),
        }
        crops = [
            labelled(
                cv2.resize(tile[STEADY_CROP], None, fx=2, fy=2, interpolation=cv2.INTER_NEAREST),
                label,
            )
            for label, tile in tiles.items()
        ]
        rows.append(np.hstack(crops))
    write(output_dir / "video_stable.jpg", np.vstack(rows))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output-dir", type=Path, default=REPO / "images")
    args = parser.parse_args()
    args.output_dir.mkdir(parents=True, exist_ok=True)

    scratch = temporary_folder("modnet-images-")
    workflow_class = import_workflow(scratch / "home")

    workflow = workflow_class()
    task = workflow.add_task(name=TASK_NAME, public_hub=False, auto_connect=True)
    workflow.run_on(path=str(SAMPLE))
    overlay = studio_overlay(task)
    cv2.imwrite(str(args.output_dir / "studio_overlay.jpg"), overlay[..., ::-1])
    edges(workflow, task, args.output_dir)
    backgrounds(workflow, task, args.output_dir, scratch)
    sample_clip(workflow, task, scratch)
    steady_edges(workflow_class, args.output_dir)

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
