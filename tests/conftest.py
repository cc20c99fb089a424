"""Shared fixtures: the real MODNet weights and data from ../shared beside the repository."""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("MODNET_SHARED", REPO.parent / "shared"))
CHECKPOINT = SHARED / "models" / "modnet_photographic_portrait_matting.ckpt"
ONNX_MODEL = SHARED / "models" / "modnet_photographic_portrait_matting.onnx"
PPM100_DEV = SHARED / "data" / "ppm100-dev"
SAMPLE = REPO / "samples" / "astronaut.png"


def pytest_sessionstart(session: pytest.Session) -> None:
    # The tests check numerics against the real weights: without them they must fail, not skip.
    for required in (CHECKPOINT, ONNX_MODEL, PPM100_DEV):
        if not required.exists():
            raise pytest.UsageError(f"missing {required}: set MODNET_SHARED to the shared folder")


def read_rgb(path: Path) -> np.ndarray:
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    assert image is not None, f"cannot read {path}"
    return np.ascontiguousarray(image[..., ::-1])


@pytest.fixture(scope="session")
def checkpoint() -> Path:
    return CHECKPOINT


@pytest.fixture(scope="session")
def sample_rgb() -> np.ndarray:
    return read_rgb(SAMPLE)


@pytest.fixture(scope="session")
def session():
    from modnet import MattingSession

    return MattingSession(CHECKPOINT)
