"""The video benchmark's synthetic clips and its flicker measure."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from conftest import PPM100_DEV, PPM100_QUICK
from synthetic_clips import NOISE_SIGMA, synthetic_clip
from video_scoring import Clip, Judge, synthetic

SIZE = (320, 180)


def pair(stem: str):
    return PPM100_DEV / "image" / f"{stem}.jpg", PPM100_DEV / "alpha" / f"{stem}.jpg"


@pytest.fixture(scope="module")
def pan():
    return synthetic_clip(*pair(PPM100_QUICK[0]), "pan", frames=6, size=SIZE)


def flickers(clip: Clip, alphas: list[np.ndarray]) -> tuple[float, float]:
    """(DIS flicker, exact-motion flicker) of ``alphas`` as the mattes of ``clip``'s frames."""
    flow = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
    grey = [cv2.cvtColor(f, cv2.COLOR_RGB2GRAY) for f in clip.frames()]
    flows = {t: flow.calc(grey[t], grey[t - 1], None) for t in range(1, len(grey))}
    judge = Judge(clip, SIZE[1], SIZE[0])
    for alpha in alphas:
        judge.score(alpha, flows, {})
    row = judge.scores.row()
    return row["flicker"], row["exact-motion flicker"]


def test_rigid_clip_motion_is_exact(pan) -> None:
    clip = synthetic(pan)
    truths = [pan.truth(t) for t in range(len(pan))]
    still = [truths[0]] * len(pan)

    dis, exact = flickers(clip, truths)
    frozen, frozen_exact = flickers(clip, still)

    # The true mattes follow the camera: along its exact motion they barely change (resampling
    # only), and DIS agrees; a matte that stays put while the camera pans does not.
    assert exact < 0.05 * frozen_exact
    assert dis < 0.1 * frozen


def test_frames_are_reproducible_and_noisy(pan) -> None:
    first, again = pan.frame(2), pan.frame(2)
    assert first.shape == (SIZE[1], SIZE[0], 3) and first.dtype == np.uint8
    assert np.array_equal(first, again)
    assert pan.truth(2).shape == (SIZE[1], SIZE[0])
    # Sensor noise of NOISE_SIGMA grey levels: another seed, the same view, other noise.
    other = synthetic_clip(*pair(PPM100_QUICK[0]), "pan", frames=6, size=SIZE, seed=1)
    difference = first.astype(np.float32) - other.frame(2)
    assert abs(float(np.std(difference)) / np.sqrt(2) - NOISE_SIGMA) < 0.3


def test_sway_puts_the_person_over_a_backdrop_without_people() -> None:
    person, backdrop = PPM100_QUICK[0], PPM100_QUICK[1]
    sway = synthetic_clip(*pair(person), "sway", frames=3, size=SIZE, backdrop=pair(backdrop))

    assert not sway.rigid and synthetic(sway).motion is None
    frame, truth = sway.frame(1).astype(np.float32), sway.truth(1)
    behind = truth == 0
    assert behind.mean() > 0.2 and (truth == 1).mean() > 0.1
    # Where the person is not, the frame is the backdrop, up to the sensor noise.
    assert float(np.abs(frame - sway.backdrop)[behind].mean()) < 2 * NOISE_SIGMA
    # The person moves from frame to frame, the backdrop does not.
    assert np.abs(sway.truth(0) - truth).mean() > 0.005


def test_sway_needs_a_backdrop() -> None:
    with pytest.raises(ValueError, match="backdrop"):
        synthetic_clip(*pair(PPM100_QUICK[0]), "sway", frames=3, size=SIZE)
