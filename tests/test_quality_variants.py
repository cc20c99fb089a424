"""The quality variants benchmark builds the shipped modes as the session runs them."""

from __future__ import annotations

import numpy as np
import pytest
from benchmark_quality_variants import variants

VARIANTS = variants()
# The variants that are modes of the plugin: name -> (input_size, quality).
SHIPPED = {
    "one pass at 512 (`fast`, the default)": (512, "fast"),
    "512 semantics with 768 details (`fast` at 768)": (768, "fast"),
    "median of 384, 448, 512, guided upsampling (`high`)": (512, "high"),
}


@pytest.mark.parametrize("name", SHIPPED)
def test_a_shipped_variant_is_the_sessions_mode(session, sample_rgb, name: str) -> None:
    matte = VARIANTS[name](session.passes(sample_rgb), sample_rgb)

    input_size, quality = SHIPPED[name]
    expected = session.predict(sample_rgb, input_size, quality=quality).matte
    np.testing.assert_array_equal(matte, expected)


def test_every_variant_gives_a_matte_of_the_photos_size(session, sample_rgb) -> None:
    small = sample_rgb[::4, ::4].copy()

    alpha_at = session.passes(small)
    for name, build in VARIANTS.items():
        matte = build(alpha_at, small)
        assert matte.dtype == np.uint8 and matte.shape == small.shape[:2], name
