"""Helpers shared by the batch runner's tests: small photo trees and quick options."""

from __future__ import annotations

import io
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from conftest import CHECKPOINT
from modnet.batch import BatchOptions

# Small photos, enlarged to the smallest network input at which MODNet still finds the
# astronaut: each photo takes tens of milliseconds.
PHOTO_SIDE = 160
INPUT_SIZE = 256


def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One ONNX export cache for the whole test run: every batch test module finds the export
    that the first one built (the base temporary folder is the run's)."""
    folder = tmp_path_factory.getbasetemp() / "batch-export-cache"
    folder.mkdir(exist_ok=True)
    return folder


def quick_options(cache: Path, **changes: object) -> BatchOptions:
    settings: dict[str, object] = {
        "weights": CHECKPOINT,
        "input_size": INPUT_SIZE,
        "backend": "onnxruntime",
        "precision": "fp32",
        "cache_dir": cache,
        "background": "color",
        **changes,
    }
    return BatchOptions(**settings)


def small_photo(rgb: np.ndarray, side: int = PHOTO_SIDE) -> np.ndarray:
    return cv2.resize(rgb, (side, side), interpolation=cv2.INTER_AREA)


def write_rgb(path: Path, rgb: np.ndarray) -> Path:
    """Writes an RGB photo in the format of the path's extension."""
    path.parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(path), np.ascontiguousarray(rgb[..., ::-1]))
    return path


def pillow_bytes(image: Image.Image, file_format: str, **save_options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, file_format, **save_options)
    return buffer.getvalue()


def photo_tree(root: Path, rgb: np.ndarray, count: int) -> list[Path]:
    """``count`` distinct small photos in nested folders, two of them with the same name in
    different folders."""
    photo = small_photo(rgb)
    paths = []
    for index in range(count):
        folder = root / f"set{index % 3}" / ("deep" if index % 2 else "")
        variant = np.roll(photo, 7 * index, axis=1)  # distinct content, same person
        paths.append(write_rgb(folder / f"photo{index // 3}.jpg", variant))
    return paths


def tree_bytes(root: Path) -> dict[str, bytes]:
    """Relative path -> bytes of every output file under ``root`` (manifest excluded)."""
    return {
        path.relative_to(root).as_posix(): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file() and not path.name.startswith(".") and path.suffix != ".jsonl"
    }
