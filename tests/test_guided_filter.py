"""Guided upsampling of a matte by the full-resolution photo."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np

from conftest import REPO
from modnet.pipeline.guided_filter import guided_filter_coefficients, guided_upsample


def random_photo(height: int, width: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    smooth = cv2.resize(rng.uniform(0, 255, (8, 8, 3)), (width, height))
    return np.clip(smooth + rng.normal(0, 20, (height, width, 3)), 0, 255).astype(np.uint8)


def test_a_linear_function_of_the_colours_is_kept_at_full_resolution() -> None:
    # A matte that is exactly a . rgb + b everywhere is its own best fit in every window, so
    # the coefficients found on the small photo reproduce it on the large one.
    photo = random_photo(96, 128)
    small = cv2.resize(photo, (32, 24), interpolation=cv2.INTER_AREA)
    weights, offset = np.array([0.3, -0.2, 0.5]) / 255, 0.1

    def linear(image: np.ndarray) -> np.ndarray:
        return (image @ weights + offset).astype(np.float32)

    result = guided_upsample(linear(small), small, photo, radius=2, eps=1e-6)

    assert result.shape == photo.shape[:2] and result.dtype == np.float32
    np.testing.assert_allclose(result, np.clip(linear(photo), 0, 1), atol=2e-3)


def test_a_constant_matte_stays_constant() -> None:
    photo = random_photo(60, 80)
    small = cv2.resize(photo, (20, 15), interpolation=cv2.INTER_AREA)

    result = guided_upsample(np.full((15, 20), 0.25, np.float32), small, photo, 2, 1e-4)

    np.testing.assert_allclose(result, 0.25, atol=1e-5)


def test_result_is_clipped_to_the_unit_interval() -> None:
    photo = random_photo(40, 40)
    matte = np.zeros((40, 40), np.float32)
    matte[:, 20:] = 1.0

    result = guided_upsample(matte, photo, photo, 2, 1e-6)

    assert result.min() >= 0.0 and result.max() <= 1.0


def ikomia_opencv() -> Path:
    # Found without importing ikomia, whose import needs a prepared HOME.
    spec = importlib.util.find_spec("ikomia")
    assert spec is not None and spec.submodule_search_locations, "ikomia is not installed"
    return Path(spec.submodule_search_locations[0]) / "opencv"


# Run where Ikomia's OpenCV, which has ximgproc, is the cv2 that both implementations use.
XIMGPROC_CHECK = """
import json, sys
sys.path.insert(0, sys.argv[1])
import cv2
import numpy as np
from modnet.pipeline.guided_filter import guided_filter_coefficients

rng = np.random.default_rng(1)
guide = rng.uniform(0, 1, (37, 53, 3)).astype(np.float32)
src = rng.uniform(0, 1, (37, 53)).astype(np.float32)
result = {}
for radius, eps in ((1, 1e-2), (2, 1e-1), (4, 0.5)):
    a, b = guided_filter_coefficients(guide, src, radius, eps)
    ours = np.sum(a * guide, axis=2) + b
    theirs = cv2.ximgproc.guidedFilter(guide, src, radius, eps)
    result[f"{radius},{eps}"] = float(np.abs(ours - theirs).max())
print(json.dumps(result))
"""


def test_coefficients_reproduce_opencv_ximgproc() -> None:
    # OpenCV replaces determinants below 1e-6 by 1 when eps < 1e-2: the values checked here
    # keep clear of that guard, so both must compute the same filter.
    output = subprocess.run(
        [sys.executable, "-c", XIMGPROC_CHECK, str(ikomia_opencv())],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    differences = json.loads(output.splitlines()[-1])

    assert len(differences) == 3
    for setting, difference in differences.items():
        assert difference < 1e-5, setting


def test_coefficients_have_the_guide_s_size() -> None:
    guide = random_photo(12, 16) / np.float32(255)

    a, b = guided_filter_coefficients(guide, guide[:, :, 0], 1, 1e-3)

    assert a.shape == (12, 16, 3) and b.shape == (12, 16)
    # src is the guide's red channel: a ~ (1, 0, 0), b ~ 0.
    np.testing.assert_allclose(np.sum(a * guide, axis=2) + b, guide[:, :, 0], atol=0.02)
