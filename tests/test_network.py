"""MODNet in PyTorch against the authors' ONNX export, and checkpoint loading."""

from __future__ import annotations

import pickle
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from modnet import CheckpointError, MODNet, convert_state_dict, load_checkpoint
from modnet.network.layers import ConcatConv2d

StateDict = dict[str, torch.Tensor]


def network_input(*images: np.ndarray) -> np.ndarray:
    """N x 3 x H x W float32 in [-1, 1] from RGB uint8 images of the same size."""
    batch = np.stack(images).astype(np.float32) / 127.5 - 1.0
    return np.ascontiguousarray(batch.transpose(0, 3, 1, 2))


def resize_area(rgb: np.ndarray, height: int, width: int) -> np.ndarray:
    return cv2.resize(rgb, (width, height), interpolation=cv2.INTER_AREA)


def torch_alpha(model: MODNet, x: np.ndarray) -> np.ndarray:
    with torch.inference_mode():
        return model(torch.from_numpy(x)).numpy()


@pytest.fixture(scope="module")
def model(checkpoint: Path) -> MODNet:
    return load_checkpoint(checkpoint)


@pytest.fixture(scope="module")
def official_state(checkpoint: Path) -> StateDict:
    return torch.load(checkpoint, map_location="cpu", weights_only=True)


# --- the network against the ONNX oracle -------------------------------------------------------


def test_load_checkpoint_returns_model_in_eval_mode(model: MODNet) -> None:
    assert not any(module.training for module in model.modules())


def test_astronaut_512x512_matches_onnx(model, onnx_model, sample_rgb: np.ndarray) -> None:
    x = network_input(resize_area(sample_rgb, 512, 512))

    expected = onnx_model.run(["output"], {"input": x})[0]
    alpha = torch_alpha(model, x)

    assert alpha.shape == expected.shape == (1, 1, 512, 512)
    assert np.abs(alpha - expected).max() < 1e-4


def test_non_square_photo_matches_onnx(model, onnx_model, ppm100_pairs) -> None:
    _, photo, _ = ppm100_pairs[0]
    assert photo.shape[0] < photo.shape[1], "expects a landscape photo"
    x = network_input(resize_area(photo, 512, 768))

    expected = onnx_model.run(["output"], {"input": x})[0]
    alpha = torch_alpha(model, x)

    assert alpha.shape == expected.shape == (1, 1, 512, 768)
    assert np.abs(alpha - expected).max() < 1e-4


def test_batch_of_two_equals_single_runs(model, sample_rgb: np.ndarray, ppm100_pairs) -> None:
    # Instance norm and the SE block pool per image: a batch must not mix the two images.
    first = resize_area(sample_rgb, 256, 320)
    second = resize_area(ppm100_pairs[1][1], 256, 320)

    batch = torch_alpha(model, network_input(first, second))
    singles = [torch_alpha(model, network_input(image))[0] for image in (first, second)]

    assert batch.shape == (2, 1, 256, 320)
    assert np.abs(singles[0] - singles[1]).max() > 0.1, "the two images must differ"
    for in_batch, single in zip(batch, singles, strict=True):
        assert np.abs(in_batch - single).max() < 1e-5


@pytest.mark.parametrize(("splits", "stride", "padding"), [((32, 3), 1, 1), ((3, 16, 8), 2, 1)])
def test_concat_conv_equals_conv_of_the_concatenation(splits, stride, padding) -> None:
    torch.manual_seed(0)
    concat_conv = ConcatConv2d(splits, 16, 3, stride=stride, padding=padding)
    conv = torch.nn.Conv2d(sum(splits), 16, 3, stride=stride, padding=padding)
    conv.load_state_dict(concat_conv.state_dict())
    inputs = [torch.randn(2, channels, 20, 24) for channels in splits]

    with torch.inference_mode():
        expected = conv(torch.cat(inputs, dim=1))
        output = concat_conv(inputs)

    assert output.shape == expected.shape
    assert (output - expected).abs().max() < 1e-5


# --- convert_state_dict ------------------------------------------------------------------------


def test_official_checkpoint_has_751_keys_with_module_prefix(official_state: StateDict) -> None:
    assert len(official_state) == 751
    assert all(key.startswith("module.") for key in official_state)


def test_convert_drops_training_heads_and_duplicate_backbone(official_state: StateDict) -> None:
    expected_keys = MODNet().state_dict().keys()

    converted = convert_state_dict(official_state)

    assert len(converted) == len(expected_keys)
    assert converted.keys() == expected_keys
    assert not any(key.startswith(("lr_branch.backbone.", "module.")) for key in converted)
    assert not any("conv_lr." in key or "conv_hr." in key for key in converted)


def test_convert_renames_backbone_keys_and_keeps_tensors(official_state: StateDict) -> None:
    converted = convert_state_dict(official_state)

    renamed = {
        "f_branch.conv_f.1.layers.0.weight": "f_branch.conv_f.1.layers.0.weight",
        # The reference MobileNetV2's flat block layout -> torchvision's nested one.
        "backbone.model.features.1.conv.3.weight": "backbone.features.1.conv.1.weight",
        "backbone.model.features.5.conv.3.weight": "backbone.features.5.conv.1.0.weight",
        "backbone.model.features.18.0.weight": "backbone.features.18.0.weight",
    }
    for official, ours in renamed.items():
        assert torch.equal(converted[ours], official_state[f"module.{official}"]), official


# --- load_checkpoint ---------------------------------------------------------------------------


def save(state: object, path: Path) -> Path:
    torch.save(state, path)
    return path


def test_loads_without_module_prefix(model, official_state: StateDict, tmp_path: Path) -> None:
    stripped = {key.removeprefix("module."): value for key, value in official_state.items()}

    loaded = load_checkpoint(save(stripped, tmp_path / "stripped.ckpt"))

    expected = model.state_dict()
    actual = loaded.state_dict()
    assert actual.keys() == expected.keys()
    for key, tensor in expected.items():
        assert torch.equal(actual[key], tensor), key


def assert_rejected(path: Path, *fragments: str) -> None:
    with pytest.raises(CheckpointError) as raised:
        load_checkpoint(path)
    message = str(raised.value)
    assert str(path) in message
    for fragment in fragments:
        assert fragment in message


def test_rejects_tensor_of_wrong_shape(official_state: StateDict, tmp_path: Path) -> None:
    key = "module.f_branch.conv_f.1.layers.0.weight"
    state = {**official_state, key: torch.zeros(2, 16, 1, 1)}

    assert_rejected(save(state, tmp_path / "shape.ckpt"), "f_branch.conv_f.1.layers.0.weight")


def test_rejects_missing_key(official_state: StateDict, tmp_path: Path) -> None:
    state = dict(official_state)
    del state["module.hr_branch.conv_hr4x.0.layers.0.weight"]

    assert_rejected(save(state, tmp_path / "missing.ckpt"), "missing")


@pytest.mark.parametrize(
    "extra_key",
    ["module.extra_head.weight", "module.backbone.model.features.2.conv.9.weight"],
    ids=["unknown-module", "unknown-backbone-layer"],
)
def test_rejects_extra_key(official_state: StateDict, tmp_path: Path, extra_key: str) -> None:
    state = {**official_state, extra_key: torch.zeros(3)}

    assert_rejected(save(state, tmp_path / "extra.ckpt"), extra_key.removeprefix("module."))


def test_rejects_random_bytes(tmp_path: Path) -> None:
    path = tmp_path / "random.ckpt"
    path.write_bytes(np.random.default_rng(0).bytes(4096))

    assert_rejected(path)


def test_rejects_truncated_checkpoint(checkpoint: Path, tmp_path: Path) -> None:
    data = checkpoint.read_bytes()
    path = tmp_path / "truncated.ckpt"
    path.write_bytes(data[: len(data) // 2])

    assert_rejected(path)


def test_rejects_torch_file_of_a_list(tmp_path: Path) -> None:
    path = save([torch.zeros(3), torch.ones(2)], tmp_path / "list.ckpt")

    assert_rejected(path, "list")


def test_rejects_plain_pickle_of_a_list(tmp_path: Path) -> None:
    path = tmp_path / "list.pkl"
    path.write_bytes(pickle.dumps([1, 2, 3], protocol=2))

    assert_rejected(path)


def test_rejects_missing_file(tmp_path: Path) -> None:
    assert_rejected(tmp_path / "absent.ckpt")
