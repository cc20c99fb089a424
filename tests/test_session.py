"""The inference pipeline: photo in, matte, cutout and mask out."""

from __future__ import annotations

import itertools
import logging
import sys
from collections.abc import Callable

import cv2
import numpy as np
import pytest
import torch

from modnet import (
    INPUT_SIZE_MAX,
    MattingResult,
    MattingSession,
    check_input_size,
    check_threshold,
    network_size,
    select_device,
)
from modnet.runtime import devices

# The format variants run at a lower resolution to keep the suite quick.
SMALL_INPUT_SIZE = 256


def reference_matte(onnx_model, rgb: np.ndarray, input_size: int) -> np.ndarray:
    """The pipeline written independently of ``MattingSession``, with the ONNX export."""
    height, width = rgb.shape[:2]
    net_h, net_w = network_size(height, width, input_size)
    small = cv2.resize(rgb, (net_w, net_h), interpolation=cv2.INTER_AREA)
    x = (small.astype(np.float32) / 127.5 - 1.0).transpose(2, 0, 1)[None]
    alpha = onnx_model.run(["output"], {"input": np.ascontiguousarray(x)})[0][0, 0]
    matte = np.rint(alpha * 255.0).astype(np.uint8)
    if (net_h, net_w) == (height, width):
        return matte
    assert net_h < height and net_w < width, "the reference only covers enlarging back"
    return cv2.resize(matte, (width, height), interpolation=cv2.INTER_LINEAR)


@pytest.fixture(scope="module")
def astronaut(session: MattingSession, sample_rgb: np.ndarray) -> MattingResult:
    return session.predict(sample_rgb)


@pytest.fixture(scope="module")
def astronaut_small(session: MattingSession, sample_rgb: np.ndarray) -> MattingResult:
    return session.predict(sample_rgb, input_size=SMALL_INPUT_SIZE)


@pytest.fixture(scope="module")
def photo_results(session: MattingSession, ppm100_pairs) -> list[MattingResult]:
    return [session.predict(photo) for _, photo, _ in ppm100_pairs]


# --- outputs -----------------------------------------------------------------------------------


def test_matte_is_uint8_of_input_size(astronaut: MattingResult, sample_rgb: np.ndarray) -> None:
    assert astronaut.matte.dtype == np.uint8
    assert astronaut.matte.shape == sample_rgb.shape[:2]
    np.testing.assert_array_equal(astronaut.image, sample_rgb)


def test_photo_matte_has_photo_size(photo_results: list[MattingResult], ppm100_pairs) -> None:
    for result, (stem, photo, _) in zip(photo_results, ppm100_pairs, strict=True):
        assert result.matte.shape == photo.shape[:2], stem
        assert result.matte.dtype == np.uint8, stem


def test_cutout_is_rgb_with_matte_as_alpha(astronaut: MattingResult, sample_rgb) -> None:
    cutout = astronaut.cutout()

    assert cutout.shape == (*sample_rgb.shape[:2], 4)
    assert cutout.dtype == np.uint8
    np.testing.assert_array_equal(cutout[:, :, :3], sample_rgb)
    np.testing.assert_array_equal(cutout[:, :, 3], astronaut.matte)


def gray(rgb: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)


def with_alpha(rgb: np.ndarray) -> np.ndarray:
    alpha = np.random.default_rng(3).integers(0, 256, size=rgb.shape[:2], dtype=np.uint8)
    return np.dstack((rgb, alpha))


@pytest.fixture(scope="module")
def gray_small(session: MattingSession, sample_rgb: np.ndarray) -> MattingResult:
    return session.predict(np.repeat(gray(sample_rgb)[:, :, None], 3, axis=2), SMALL_INPUT_SIZE)


# Variants of the RGB sample, and the fixture holding the result of the RGB image each stands for.
FORMATS: dict[str, tuple[Callable[[np.ndarray], np.ndarray], str]] = {
    "gray": (gray, "gray_small"),
    "HxWx1": (lambda rgb: gray(rgb)[:, :, None], "gray_small"),
    "rgba": (with_alpha, "astronaut_small"),
    "uint16": (lambda rgb: rgb.astype(np.uint16) * 257, "astronaut_small"),
    "float32": (lambda rgb: rgb.astype(np.float32) / 255, "astronaut_small"),
    "float64": (lambda rgb: rgb / 255.0, "astronaut_small"),
}


@pytest.mark.parametrize("name", FORMATS)
def test_formats_give_the_matte_of_their_rgb_equivalent(
    name: str, session: MattingSession, sample_rgb: np.ndarray, request: pytest.FixtureRequest
) -> None:
    make_variant, equivalent = FORMATS[name]
    expected: MattingResult = request.getfixturevalue(equivalent)
    variant = make_variant(sample_rgb)
    before = variant.copy()

    result = session.predict(variant, input_size=SMALL_INPUT_SIZE)

    np.testing.assert_array_equal(variant, before)
    assert result.matte.dtype == np.uint8
    assert result.matte.shape == sample_rgb.shape[:2]
    np.testing.assert_array_equal(result.image, expected.image)
    np.testing.assert_array_equal(result.matte, expected.matte)


def test_predict_accepts_flipped_bgr_view(
    session: MattingSession, sample_rgb: np.ndarray, astronaut: MattingResult
) -> None:
    # An OpenCV image turned to RGB by slicing has negative strides; at 512 x 512 it is fed to the
    # network without a resize, hence without the copy that a resize makes.
    bgr = np.ascontiguousarray(sample_rgb[:, :, ::-1])

    result = session.predict(bgr[:, :, ::-1])

    np.testing.assert_array_equal(result.matte, astronaut.matte)


def test_predict_leaves_rgb_input_unmodified(session: MattingSession, sample_rgb) -> None:
    image = sample_rgb.copy()

    session.predict(image, input_size=SMALL_INPUT_SIZE)

    np.testing.assert_array_equal(image, sample_rgb)


# --- against an independent ONNX pipeline -----------------------------------------------------

# Tolerance: 1 grey level. torch and the ONNX export agree on alpha to < 1e-4 (0.03 grey levels),
# so rounding to uint8 can only differ by one level, and only where alpha * 255 is within that of
# a .5; bilinear enlarging averages with weights summing to one, which keeps the gap at one
# level. Measured: max 1, on fewer than 1e-4 of the pixels; the fraction bound catches a pipeline
# that is off by one everywhere (e.g. a different interpolation).
MAX_LEVELS = 1
MAX_FRACTION_DIFFERENT = 1e-3


def assert_matches_reference(matte: np.ndarray, reference: np.ndarray) -> None:
    assert matte.shape == reference.shape
    difference = np.abs(matte.astype(np.int16) - reference.astype(np.int16))
    assert difference.max() <= MAX_LEVELS
    assert np.count_nonzero(difference) <= MAX_FRACTION_DIFFERENT * difference.size


def test_astronaut_matches_onnx_pipeline(astronaut: MattingResult, onnx_model, sample_rgb):
    assert_matches_reference(astronaut.matte, reference_matte(onnx_model, sample_rgb, 512))


def test_enlarged_astronaut_matches_onnx_pipeline(
    astronaut_small: MattingResult, onnx_model, sample_rgb: np.ndarray
) -> None:
    reference = reference_matte(onnx_model, sample_rgb, SMALL_INPUT_SIZE)

    assert_matches_reference(astronaut_small.matte, reference)


@pytest.mark.parametrize("index", [0, 2], ids=["landscape", "portrait"])
def test_photo_matches_onnx_pipeline(index: int, photo_results, ppm100_pairs, onnx_model) -> None:
    _, photo, _ = ppm100_pairs[index]

    assert_matches_reference(photo_results[index].matte, reference_matte(onnx_model, photo, 512))


# --- quality and resolution --------------------------------------------------------------------


def test_photo_mattes_are_close_to_ground_truth(photo_results, ppm100_pairs) -> None:
    # The dev set averages 0.005 at 512; a blank, inverted or misaligned matte scores far above.
    errors = [
        np.mean((result.matte / 255.0 - alpha / 255.0) ** 2)
        for result, (_, _, alpha) in zip(photo_results, ppm100_pairs, strict=True)
    ]

    assert np.mean(errors) < 0.01


def test_input_size_changes_network_resolution(
    astronaut: MattingResult, astronaut_small: MattingResult
) -> None:
    assert astronaut_small.matte.shape == astronaut.matte.shape
    assert np.count_nonzero(astronaut_small.matte != astronaut.matte) > 0.01 * astronaut.matte.size


def test_predict_rejects_bad_input_size(session: MattingSession, sample_rgb) -> None:
    with pytest.raises(ValueError, match=r"^input_size"):
        session.predict(sample_rgb, input_size=500)


# --- mask --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("threshold", "level"),
    [(0.0, 0), (0.25, 64), (0.5, 128), (0.9, 230), (1.0, 255)],
)
def test_mask_keeps_levels_at_or_above_threshold(threshold: float, level: int) -> None:
    levels = np.arange(256, dtype=np.uint8).reshape(16, 16)
    result = MattingResult(image=np.zeros((16, 16, 3), np.uint8), matte=levels)

    mask = result.mask(threshold)

    assert mask.dtype == np.uint8
    np.testing.assert_array_equal(mask, (levels >= level).astype(np.uint8))


def test_mask_of_astronaut(astronaut: MattingResult) -> None:
    thresholds = [0.0, 0.1, 0.25, 0.5, 0.75, 0.9, 1.0]
    masks = [astronaut.mask(t) for t in thresholds]

    assert set(np.unique(masks[3])) == {0, 1}, "a portrait has person and background"
    assert (masks[0] == 1).all()
    np.testing.assert_array_equal(masks[-1], astronaut.matte == 255)
    for looser, stricter in itertools.pairwise(masks):
        assert (stricter <= looser).all()
    np.testing.assert_array_equal(astronaut.mask(), masks[3])


def test_mask_rejects_bad_threshold(astronaut: MattingResult) -> None:
    with pytest.raises(ValueError, match=r"^threshold"):
        astronaut.mask(1.5)


# --- parameter checks and device ---------------------------------------------------------------


@pytest.mark.parametrize("value", [32, 512, INPUT_SIZE_MAX, np.int64(512), np.uint16(256)])
def test_check_input_size_accepts_multiples_of_32_up_to_the_bound(value) -> None:
    checked = check_input_size(value)
    assert checked == value and type(checked) is int


@pytest.mark.parametrize(
    "value",
    [0, -32, 100, 31, INPUT_SIZE_MAX + 32, 99968, 2**40, "512", 512.0, True, np.bool_(True)],
)
def test_check_input_size_rejects(value: object) -> None:
    with pytest.raises(ValueError, match=r"^input_size") as raised:
        check_input_size(value)
    message = str(raised.value)
    assert f"a multiple of 32 from 32 to {INPUT_SIZE_MAX}" in message
    assert f"got {value!r}" in message or f"got {value}" in message


def test_check_input_size_names_the_type_it_refuses() -> None:
    with pytest.raises(ValueError, match=r"got '512' \(str\)$"):
        check_input_size("512")


@pytest.mark.parametrize("value", [0, 0.5, 1, np.float32(0.5), np.float64(1.0), np.int64(0)])
def test_check_threshold_accepts_unit_interval(value) -> None:
    checked = check_threshold(value)
    assert checked == value and type(checked) is float


@pytest.mark.parametrize("value", [-0.1, 1.5, "0.5", float("nan"), np.float32("nan"), True])
def test_check_threshold_rejects(value: object) -> None:
    with pytest.raises(ValueError, match=r"^threshold"):
        check_threshold(value)


def test_numpy_scalars_are_numbers(
    session: MattingSession, sample_rgb: np.ndarray, astronaut_small: MattingResult
) -> None:
    result = session.predict(sample_rgb, np.int64(SMALL_INPUT_SIZE))

    np.testing.assert_array_equal(result.matte, astronaut_small.matte)
    np.testing.assert_array_equal(result.mask(np.float32(0.5)), result.mask(0.5))


def test_missing_weights_fail_without_a_misleading_warning(tmp_path, caplog) -> None:
    missing = tmp_path / "missing.ckpt"

    with caplog.at_level(logging.WARNING), pytest.raises(FileNotFoundError) as raised:
        MattingSession(missing)

    assert str(missing) in str(raised.value)
    assert not caplog.records


def test_select_device_cuda_without_gpu_warns_and_uses_cpu(monkeypatch, caplog) -> None:
    monkeypatch.setattr(devices, "cuda_available", lambda: False)

    with caplog.at_level(logging.WARNING):
        device = select_device(True)

    assert device == "cpu"
    assert any(
        record.levelno == logging.WARNING and "cuda" in record.getMessage().lower()
        for record in caplog.records
    )


def test_select_device_cpu_when_not_asked(monkeypatch, caplog) -> None:
    monkeypatch.setattr(devices, "cuda_available", lambda: True)

    with caplog.at_level(logging.WARNING):
        device = select_device(False)

    assert device == "cpu"
    assert not caplog.records


def test_select_device_cuda_when_available(monkeypatch) -> None:
    monkeypatch.setattr(devices, "cuda_available", lambda: True)

    assert select_device(True) == "cuda"


def test_cuda_available_without_driver_does_not_import_torch(monkeypatch) -> None:
    monkeypatch.setattr(devices, "_nvidia_driver_present", lambda: False)
    monkeypatch.setitem(sys.modules, "torch", None)  # any import of torch would now fail
    assert devices.cuda_available() is False


def test_cuda_available_asks_torch_when_a_driver_is_present(monkeypatch) -> None:
    monkeypatch.setattr(devices, "_nvidia_driver_present", lambda: True)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert devices.cuda_available() is True
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert devices.cuda_available() is False
