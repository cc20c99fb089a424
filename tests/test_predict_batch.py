"""MattingSession.predict_batch: the results of predict() image by image; on a device (the
same PyTorch code run on the CPU), the passes of one network size go through the network
together."""

from __future__ import annotations

import numpy as np
import pytest

from modnet import MattingSession
from modnet.pipeline.multiscale import pass_sizes


@pytest.fixture(scope="module")
def photos(ppm100_pairs) -> list[np.ndarray]:
    """Two photos of one size (a photo and its mirror image) and one of another shape."""
    photo = np.ascontiguousarray(ppm100_pairs[0][1][::8, ::8])
    other = np.ascontiguousarray(ppm100_pairs[1][1][::8, ::8])
    other = np.ascontiguousarray(other[:, : other.shape[1] // 2])
    return [photo, np.ascontiguousarray(photo[:, ::-1]), other]


def test_cpu_path_gives_predict_image_by_image(session, photos) -> None:
    timings: dict[str, float] = {}

    results = session.predict_batch(photos, 256, timings, quality="high")

    for photo, result in zip(photos, results, strict=True):
        np.testing.assert_array_equal(result.matte, session.predict(photo, 256, None, "high").matte)
    assert set(timings) == {"preprocess", "forward", "postprocess"}
    assert session.predict_batch([]) == []


@pytest.fixture(scope="module")
def device_session(checkpoint, tmp_path_factory) -> MattingSession:
    cache = tmp_path_factory.mktemp("cache")
    session = MattingSession(checkpoint, backend="torch", precision="fp32", cache_dir=cache)
    session.on_device = True  # what a session on a GPU sets
    return session


@pytest.mark.parametrize(("quality", "input_size"), [("fast", 256), ("high", 256)])
def test_device_path_batches_equal_sizes_and_gives_predict(
    device_session, photos, monkeypatch, quality, input_size
) -> None:
    expected = [device_session.predict(photo, input_size, quality=quality) for photo in photos]
    runner = device_session.network
    batches: list[int] = []
    network_alphas = runner.network_alphas

    def counted(images, size, stages=None):
        batches.append(len(images))
        return network_alphas(images, size, stages)

    monkeypatch.setattr(runner, "network_alphas", counted)
    timings: dict[str, float] = {}

    results = device_session.predict_batch(photos, input_size, timings, quality)

    passes = len(pass_sizes(quality, input_size))
    # The two photos of one size share each pass; the other has its own.
    assert sorted(batches) == sorted([2] * passes + [1] * passes)
    assert set(timings) == {"preprocess", "forward", "postprocess"}
    for want, got in zip(expected, results, strict=True):
        assert got.tensors is not None
        np.testing.assert_array_equal(got.tensors[1].numpy(), got.matte)
        assert got.image.shape == want.image.shape
        # Batched convolutions may round differently: a grey level at most, on few pixels.
        difference = np.abs(got.matte.astype(int) - want.matte)
        assert difference.max() <= 1 and (difference > 0).mean() < 1e-3


def test_pass_sizes_are_the_passes_a_matte_runs(session, sample_rgb) -> None:
    for quality in ("fast", "high"):
        for input_size in (256, 512, 768):
            asked: list[int] = []
            alpha_at = session.passes(sample_rgb)

            def recording(size: int, alpha_at=alpha_at, asked=asked) -> np.ndarray:
                asked.append(size)
                return alpha_at(size)

            session_matte(recording, sample_rgb, quality, input_size)
            assert sorted(set(asked)) == sorted(pass_sizes(quality, input_size))


def session_matte(alpha_at, rgb: np.ndarray, quality: str, input_size: int) -> None:
    from modnet.pipeline.multiscale import fast_alpha, high_quality_matte

    if quality == "high":
        high_quality_matte(alpha_at, rgb, input_size)
    else:
        fast_alpha(alpha_at, input_size)
