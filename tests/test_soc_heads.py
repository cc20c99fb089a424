"""The training heads: official names and shapes, trained-or-zero check, distilled heads."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from modnet import load_checkpoint
from modnet.soc.checkpoint import (
    DISTILLED_HEADS,
    UntrainedHeadsError,
    head_tensors,
    heads_trained,
    load_heads_file,
    official_state,
    read_official,
    resolve_heads,
)
from modnet.soc.frames import read_frames, to_tensor_batch
from modnet.soc.heads import Heads, SubObjectiveNet
from modnet.soc.losses import semantic_target


@pytest.fixture(scope="module")
def official(checkpoint: Path) -> dict[str, torch.Tensor]:
    return read_official(checkpoint)


def test_heads_have_the_official_names_and_shapes(official):
    expected = {
        k.removeprefix("module."): tuple(v.shape) for k, v in head_tensors(official).items()
    }
    mine = {k: tuple(v.shape) for k, v in Heads().official_state_dict().items()}
    # conv_lr: weight, bias; conv_hr: two convolutions (weight, bias) and a BatchNorm (5 tensors)
    assert len(expected) == 11
    assert mine == expected


def test_the_shared_checkpoint_has_zero_heads(official):
    assert not heads_trained(head_tensors(official))


def test_distilled_heads_are_small_and_trained():
    assert DISTILLED_HEADS.stat().st_size < 64 * 1024
    assert heads_trained(load_heads_file(DISTILLED_HEADS))


def test_a_checkpoint_with_distilled_heads_counts_as_trained(official, checkpoint, tmp_path):
    heads, origin = resolve_heads(official)
    assert origin == "distilled"
    path = tmp_path / "with_heads.ckpt"
    torch.save(official_state(load_checkpoint(checkpoint), heads, official), path)
    assert heads_trained(head_tensors(read_official(path)))
    # A checkpoint with trained heads supplies its own, even where no distilled file exists.
    _, origin = resolve_heads(read_official(path), distilled=tmp_path / "missing.npz")
    assert origin == "checkpoint"


def test_zero_heads_without_distilled_heads_is_a_clear_error(official, tmp_path):
    with pytest.raises(UntrainedHeadsError, match=r"heads .* are zero .*missing\.npz"):
        resolve_heads(official, distilled=tmp_path / "missing.npz")
    with pytest.raises(UntrainedHeadsError):
        resolve_heads(official, distilled=None)


def test_the_matte_of_the_sub_objective_net_is_the_network_s(checkpoint):
    network = load_checkpoint(checkpoint)
    model = SubObjectiveNet(network, Heads()).eval()
    image = torch.rand(1, 3, 64, 96) * 2 - 1
    with torch.no_grad():
        semantic, detail, matte = model(image)
        assert torch.equal(matte, network(image))
    assert semantic.shape == (1, 1, 4, 6)
    assert detail.shape == (1, 1, 64, 96)


def test_distilled_semantic_head_agrees_with_the_downsampled_matte(checkpoint, sample_rgb):
    heads, _ = resolve_heads(read_official(checkpoint))
    model = SubObjectiveNet(load_checkpoint(checkpoint), heads).eval()
    (frame,) = read_frames([sample_rgb], 256)
    with torch.no_grad():
        semantic, detail, matte = model(torch.from_numpy(to_tensor_batch([frame])))
    target = semantic_target(matte)
    error = float(torch.mean((semantic - target) ** 2))
    zero_heads_error = float(torch.mean((0.5 - target) ** 2))
    # Measured: 0.020 against 0.181 for zero heads (0.5 everywhere).
    assert error < 0.03
    assert error < 0.15 * zero_heads_error
    # The detail head is close to the matte where the matte is decided (person or background).
    decided = (matte < 0.05) | (matte > 0.95)
    assert float(np.mean(np.abs((detail - matte)[decided].numpy()))) < 0.15
