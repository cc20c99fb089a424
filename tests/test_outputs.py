"""The outputs of a matte (modnet.edit.outputs) made by the device twins, run on the CPU,
against those made by NumPy and OpenCV: the same within a grey level (two for quality high,
whose mattes already differ by two)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from modnet import MattingResult, MattingSession, OutputSettings, make_outputs
from modnet.edit.outputs_torch import person_mask_torch

KINDS = [
    OutputSettings(),
    OutputSettings(background="transparent", rgb=False),
    OutputSettings(background="color", background_color=(10, 200, 77), foreground="raw"),
    OutputSettings(background="blur", blur_strength=4.0),
    OutputSettings(background="image", threshold=0.3),
]


@pytest.fixture(scope="module")
def torch_session(checkpoint, tmp_path_factory) -> MattingSession:
    cache = tmp_path_factory.mktemp("cache")
    return MattingSession(checkpoint, backend="torch", precision="fp32", cache_dir=cache)


@pytest.fixture(scope="module")
def backdrop(ppm100_pairs) -> np.ndarray:
    return ppm100_pairs[0][1][::4, ::4]


def device_result(session: MattingSession, image: np.ndarray, quality: str) -> MattingResult:
    session.on_device = True  # what a session on a GPU sets
    try:
        return session.predict(image, quality=quality)
    finally:
        session.on_device = False


def grey_levels(a: np.ndarray, b: np.ndarray) -> int:
    assert a.shape == b.shape and a.dtype == b.dtype == np.uint8
    return int(np.abs(a.astype(np.int16) - b.astype(np.int16)).max())


def premultiplied(rgba: np.ndarray) -> np.ndarray:
    """The cutout's colours as they show: a straight colour where alpha is a grey level or
    two is ill-defined (the estimate divides by alpha), and moves with it."""
    return np.rint(rgba[..., :3] * (rgba[..., 3:] / 255.0)).astype(np.uint8)


@pytest.mark.parametrize("settings", KINDS, ids=lambda s: f"{s.background}-{s.rgb}")
def test_device_outputs_on_the_cpu_give_the_host_outputs(
    torch_session, sample_rgb, backdrop, settings
) -> None:
    host = torch_session.predict(sample_rgb)
    device = device_result(torch_session, sample_rgb, "fast")
    assert device.tensors is not None and torch_session.output_device is None
    expected = make_outputs(host, settings, backdrop)
    timings: dict[str, float] = {}

    result = make_outputs(device, settings, backdrop, device="cpu", timings=timings)

    assert set(timings) == {"foreground", "outputs"}
    assert grey_levels(expected.cutout, result.cutout) <= 1
    assert grey_levels(expected.composite, result.composite) <= 1
    np.testing.assert_array_equal(expected.mask, result.mask)


@pytest.mark.parametrize("settings", KINDS, ids=lambda s: f"{s.background}-{s.rgb}")
def test_quality_high_outputs_on_the_device_path_are_within_two_grey_levels(
    torch_session, sample_rgb, backdrop, settings
) -> None:
    host = torch_session.predict(sample_rgb, quality="high")
    device = device_result(torch_session, sample_rgb, "high")
    expected = make_outputs(host, settings, backdrop)

    result = make_outputs(device, settings, backdrop, device="cpu")

    assert grey_levels(premultiplied(expected.cutout), premultiplied(result.cutout)) <= 2
    if expected.composite.shape[2] == 3:
        assert grey_levels(expected.composite, result.composite) <= 2
    # The mask differs only where the mattes do; from the same matte, the twins within one.
    moved = host.matte != device.matte
    np.testing.assert_array_equal(expected.mask[~moved], result.mask[~moved])
    same_matte = make_outputs(MattingResult(device.image, device.matte), settings, backdrop)
    assert grey_levels(same_matte.cutout, result.cutout) <= 1
    assert grey_levels(same_matte.composite, result.composite) <= 1
    np.testing.assert_array_equal(same_matte.mask, result.mask)


def test_a_matte_changed_on_the_host_is_uploaded(torch_session, sample_rgb) -> None:
    device = device_result(torch_session, sample_rgb, "fast")
    filtered = MattingResult(device.image, 255 - device.matte)  # as a temporal filter gives it
    settings = OutputSettings(background="color")

    result = make_outputs(filtered, settings, device="cpu")

    expected = make_outputs(filtered, settings)
    assert grey_levels(expected.composite, result.composite) <= 1
    np.testing.assert_array_equal(result.cutout[..., 3], filtered.matte)


@pytest.mark.parametrize("threshold", [0.0, 0.3, 0.5, 1.0])
def test_person_mask_twin_is_the_result_mask(sample_rgb, threshold) -> None:
    matte = np.arange(256, dtype=np.uint8).repeat(3).reshape(24, 32)
    result = MattingResult(np.zeros((24, 32, 3), np.uint8), matte)

    mask = person_mask_torch(torch.from_numpy(matte), threshold)

    np.testing.assert_array_equal(mask.numpy(), result.mask(threshold))


def test_the_image_background_needs_an_image(sample_rgb) -> None:
    result = MattingResult(sample_rgb, np.zeros(sample_rgb.shape[:2], np.uint8))
    for device in (None, "cpu"):
        with pytest.raises(ValueError, match="background_image: required"):
            make_outputs(result, OutputSettings(background="image"), device=device)


@pytest.mark.parametrize(
    ("name", "value", "accepted"),
    [
        ("foreground", "smooth", "raw, estimated"),
        ("background", "sky", "transparent, color, blur, image"),
        ("background_color", (1, 2), "three integers"),
        ("blur_strength", 0.0, "a number in"),
        ("threshold", 2.0, r"a number in \[0, 1\]"),
    ],
)
def test_bad_settings_are_refused_by_name(name, value, accepted) -> None:
    with pytest.raises(ValueError, match=f"{name}: expected .*{accepted}"):
        OutputSettings(**{name: value})
