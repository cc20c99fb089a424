"""Mattes from several passes: the recipes of modnet/pipeline/multiscale.py on stand-in passes
and on real photos."""

from __future__ import annotations

import numpy as np
import pytest

from matting_metrics import gradient_error, mse
from modnet import MattingSession, check_quality
from modnet.image import resize
from modnet.pipeline.multiscale import fast_alpha, high_alpha, high_sizes, with_details


class Passes:
    """Stand-in for the network: the alpha of each input size from a table, calls recorded."""

    def __init__(self, alphas: dict[int, np.ndarray]) -> None:
        self.alphas = alphas
        self.sizes: list[int] = []

    def __call__(self, size: int) -> np.ndarray:
        self.sizes.append(size)
        return self.alphas[size]


def checkerboard(height: int, width: int) -> np.ndarray:
    return (np.indices((height, width)).sum(axis=0) % 2).astype(np.float32)


def test_with_details_keeps_the_semantics_and_adds_the_fine_scales() -> None:
    # A 1-pixel checkerboard averages to exactly 0.5 over each 2 x 2 block: it lies entirely
    # above the 4 x 4 grid's frequencies. Its coarse part (0.5, plus 0.1) is replaced by the
    # semantic 0.3; its fine part (+-0.5) is kept, then clipped to [0, 1].
    semantic = np.full((4, 4), 0.3, np.float32)
    detailed = checkerboard(8, 8) + np.float32(0.1)

    result = with_details(semantic, detailed)

    assert result.shape == (8, 8)
    np.testing.assert_allclose(result, np.clip(0.3 + checkerboard(8, 8) - 0.5, 0, 1), atol=1e-6)


def test_with_details_of_a_smooth_pass_is_the_semantic_pass() -> None:
    # A pass with nothing finer than the semantic grid contributes nothing of its own.
    semantic = np.linspace(0, 1, 16, dtype=np.float32).reshape(4, 4)
    detailed = np.full((8, 8), 0.9, np.float32)

    np.testing.assert_allclose(with_details(semantic, detailed), resize(semantic, 8, 8), atol=1e-6)


def test_fast_is_one_pass_up_to_512() -> None:
    passes = Passes({512: np.full((4, 4), 0.5, np.float32)})

    np.testing.assert_array_equal(fast_alpha(passes, 512), passes.alphas[512])
    assert passes.sizes == [512]


def test_fast_above_512_takes_the_semantics_of_512() -> None:
    passes = Passes({512: np.zeros((4, 4), np.float32), 768: np.ones((6, 6), np.float32)})

    np.testing.assert_allclose(fast_alpha(passes, 768), 0.0, atol=1e-6)
    assert sorted(passes.sizes) == [512, 768]


@pytest.mark.parametrize(
    ("input_size", "sizes"),
    [(512, (384, 448, 512)), (1024, (384, 448, 512)), (256, (192, 224, 256)), (32, (32, 32, 32))],
)
def test_high_sizes(input_size: int, sizes: tuple[int, ...]) -> None:
    assert high_sizes(input_size) == sizes


def test_high_consensus_outvotes_one_scale() -> None:
    # At 448 a block of background turns to person; 384 and 512 outvote it.
    background = np.zeros((8, 8), np.float32)
    wrong = background[:7, :7].copy()
    wrong[2:5, 2:5] = 1.0
    passes = Passes({384: background[:6, :6], 448: wrong, 512: background})

    result = high_alpha(passes, 512)

    assert result.shape == (8, 8) and result.dtype == np.float32
    np.testing.assert_array_equal(result, background)
    assert passes.sizes == [384, 448, 512]


def test_high_above_512_adds_the_large_pass_details() -> None:
    small = {size: np.full((side, side), 0.3, np.float32) for size, side in ((384, 6), (448, 7))}
    passes = Passes({**small, 512: np.full((8, 8), 0.3, np.float32), 1024: checkerboard(16, 16)})

    result = high_alpha(passes, 1024)

    np.testing.assert_allclose(result, np.clip(checkerboard(16, 16) - 0.2, 0, 1), atol=1e-6)
    assert passes.sizes == [384, 448, 512, 1024]


@pytest.mark.parametrize("quality", ["fast", "high"])
def test_check_quality_accepts(quality: str) -> None:
    assert check_quality(quality) == quality


@pytest.mark.parametrize("quality", ["best", "HIGH", "", None])
def test_check_quality_rejects(quality: object) -> None:
    with pytest.raises(ValueError, match=r"^quality: expected one of fast, high"):
        check_quality(quality)


def test_predict_rejects_bad_quality(session: MattingSession, sample_rgb: np.ndarray) -> None:
    with pytest.raises(ValueError, match=r"^quality"):
        session.predict(sample_rgb, quality="best")


# --- real photos --------------------------------------------------------------------------


def truth_errors(matte: np.ndarray, alpha: np.ndarray) -> tuple[float, float]:
    truth = alpha / np.float32(255)
    return mse(matte / np.float32(255), truth), gradient_error(matte / np.float32(255), truth)


@pytest.fixture(scope="module")
def fast_512(session: MattingSession, ppm100_pairs) -> list[np.ndarray]:
    return [session.predict(photo).matte for _, photo, _ in ppm100_pairs]


def test_large_input_size_keeps_the_semantics(session, ppm100_pairs, fast_512) -> None:
    # One pass at 1024 loses whole regions on two of these photos (MSE 0.020 and 0.019, against
    # 0.0044 and 0.0040 at 512); with the semantics of a 512 pass it stays within 5% of 512.
    for (stem, photo, alpha), default in zip(ppm100_pairs, fast_512, strict=True):
        matte = session.predict(photo, input_size=1024).matte
        alpha_1024 = session.passes(photo)(1024)
        one_pass = resize(
            np.rint(alpha_1024 * 255).astype(np.uint8), photo.shape[1], photo.shape[0]
        )

        large, _ = truth_errors(matte, alpha)
        reference, _ = truth_errors(default, alpha)
        single, _ = truth_errors(one_pass, alpha)
        assert large <= 1.05 * reference, stem
        assert large < single, stem


def test_high_quality_sharpens_edges(session, ppm100_pairs, fast_512) -> None:
    # The Gradient error measures how far the matte's edges are from the truth's: guided by the
    # full-resolution photo, high's are closer on each photo (measured: 10 to 21% lower).
    for (stem, photo, alpha), default in zip(ppm100_pairs, fast_512, strict=True):
        matte = session.predict(photo, quality="high").matte

        assert matte.shape == photo.shape[:2] and matte.dtype == np.uint8
        _, high_gradient = truth_errors(matte, alpha)
        _, fast_gradient = truth_errors(default, alpha)
        assert high_gradient < 0.95 * fast_gradient, stem
