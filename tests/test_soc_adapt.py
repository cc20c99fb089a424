"""SOC adaptation on tiny frames: what learns, what stays, reproducibility, the file it writes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from torch import nn

from modnet import MattingSession, load_checkpoint
from modnet.adapt import main as adapt_cli
from modnet.soc import SOCSettings, SOCWeights, UntrainedHeadsError, adapt, adapt_network
from modnet.soc.checkpoint import read_official, resolve_heads
from modnet.soc.frames import read_frames

REPO = Path(__file__).resolve().parents[1]
TINY = 64  # working size: frames of 64 x 64


@pytest.fixture(scope="module")
def tiny_frames(sample_rgb: np.ndarray) -> list[np.ndarray]:
    """Four 64 x 64 views of the sample: shifted crops, one mirrored."""
    crops = [sample_rgb[y : y + 448, x : x + 448] for y, x in ((0, 0), (64, 32), (32, 64))]
    return read_frames([*crops, sample_rgb[:, ::-1]], TINY)


def fresh(checkpoint: Path):
    official = read_official(checkpoint)
    heads, _ = resolve_heads(official)
    return load_checkpoint(checkpoint), heads


def quiet(**options) -> SOCSettings:
    return SOCSettings(working_size=TINY, progress=False, **options)


def norm_state(model: nn.Module) -> dict[str, torch.Tensor]:
    return {
        f"{name}.{key}": value.clone()
        for name, module in model.named_modules()
        if isinstance(module, nn.BatchNorm2d)
        for key, value in module.state_dict().items()
    }


def test_adaptation_learns_and_keeps_the_norm_layers(checkpoint, tiny_frames):
    network, heads = fresh(checkpoint)
    before = {k: v.clone() for k, v in network.state_dict().items()}
    norms = norm_state(network) | norm_state(heads)
    report = adapt_network(network, heads, tiny_frames, quiet(max_iterations=3))
    assert report.iterations == 3 and len(report.losses) == 3
    assert all(np.isfinite(report.losses).ravel())
    for key, value in (norm_state(network) | norm_state(heads)).items():
        assert torch.equal(value, norms[key]), key
    after = network.state_dict()
    changed = [k for k in before if not torch.equal(before[k], after[k])]
    assert any(k.startswith("backbone.") for k in changed)
    assert any(k.startswith("f_branch.") for k in changed)


def distance(network: nn.Module, before: dict[str, torch.Tensor], prefix: str = "") -> float:
    after = network.state_dict()
    return sum(
        float(((after[k].float() - v.float()) ** 2).sum())
        for k, v in before.items()
        if k.startswith(prefix)
    )


def test_a_frozen_backbone_keeps_the_encoder_and_adapts_the_branches(checkpoint, tiny_frames):
    network, heads = fresh(checkpoint)
    before = {k: v.clone() for k, v in network.state_dict().items()}
    settings = quiet(max_iterations=3, freeze_backbone=True)
    report = adapt_network(network, heads, tiny_frames, settings)
    assert report.iterations == 3 and all(np.isfinite(report.losses).ravel())
    assert distance(network, before, "backbone.") == 0.0
    assert distance(network, before, "f_branch.") > 0.0
    assert distance(network, before, "hr_branch.") > 0.0


def test_the_anchor_and_the_average_hold_the_weights_closer(checkpoint, tiny_frames):
    moved = {}
    for name, options in {
        "free": {},
        "anchored": {"anchor_weight": 1e4},
        "averaged": {"average_decay": 0.9},
    }.items():
        network, heads = fresh(checkpoint)
        before = {k: v.clone() for k, v in network.state_dict().items()}
        adapt_network(
            network, heads, tiny_frames, quiet(max_iterations=4, learning_rate=1e-4, **options)
        )
        moved[name] = distance(network, before)
    assert 0.0 < moved["anchored"] < 0.5 * moved["free"]
    assert 0.0 < moved["averaged"] < 0.5 * moved["free"]


def test_the_semantic_loss_falls_on_a_repeated_frame(checkpoint, tiny_frames):
    network, heads = fresh(checkpoint)
    report = adapt_network(network, heads, tiny_frames[:1], quiet(epochs=6, learning_rate=1e-4))
    semantic = [loss[0] for loss in report.losses]
    assert semantic[-1] < 0.8 * semantic[0]


def test_the_same_seed_gives_the_same_weights(checkpoint, tiny_frames):
    runs = []
    for seed in (0, 0, 1):
        network, heads = fresh(checkpoint)
        adapt_network(network, heads, tiny_frames, quiet(max_iterations=2, seed=seed))
        runs.append(network.state_dict())
    assert all(torch.equal(runs[0][k], runs[1][k]) for k in runs[0])
    assert not all(torch.equal(runs[0][k], runs[2][k]) for k in runs[0])


def test_the_loss_weights_scale_the_losses(checkpoint, tiny_frames):
    reports = []
    for weights in (SOCWeights(), SOCWeights(semantic_scale=50.0, detail_scale=2.0)):
        network, heads = fresh(checkpoint)
        settings = quiet(max_iterations=1, loss_weights=weights)
        reports.append(adapt_network(network, heads, tiny_frames, settings))
    (semantic, detail), (half_semantic, double_detail) = (r.losses[0] for r in reports)
    assert half_semantic == pytest.approx(semantic / 2, rel=1e-5)
    assert double_detail == pytest.approx(detail * 2, rel=1e-5)


@pytest.fixture(scope="module")
def adapted(checkpoint, tiny_frames, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("soc") / "adapted.ckpt"
    report = adapt(checkpoint, tiny_frames, out, quiet(max_iterations=2))
    assert report.heads == "distilled" and report.iterations == 2
    return out


def test_the_adapted_checkpoint_has_the_official_format(checkpoint, adapted):
    original = read_official(checkpoint)
    state = torch.load(adapted, map_location="cpu", weights_only=True)
    assert list(state) == list(original)  # 751 keys, "module." prefix, both backbones
    assert all(state[k].shape == original[k].shape for k in state)
    assert torch.equal(
        state["module.backbone.model.features.0.0.weight"],
        state["module.lr_branch.backbone.model.features.0.0.weight"],
    )
    # Adapted: the weights moved, the heads are the trained ones it adapted.
    assert not torch.equal(
        state["module.backbone.model.features.0.0.weight"],
        original["module.backbone.model.features.0.0.weight"],
    )
    assert state["module.lr_branch.conv_lr.layers.0.weight"].any()


def test_the_adapted_checkpoint_loads_in_every_path(adapted, tmp_path, sample_rgb):
    network = load_checkpoint(adapted)  # strict, as the plugin loads it
    session = MattingSession(adapted, backend="onnxruntime", cache_dir=tmp_path)
    matte = session.predict(sample_rgb, input_size=256).matte
    image = cv2.resize(sample_rgb, (256, 256), interpolation=cv2.INTER_AREA)
    with torch.no_grad():
        x = torch.from_numpy(image.transpose(2, 0, 1)[None].astype(np.float32) / 127.5 - 1)
        reference = network(x)[0, 0].numpy()
    assert matte.shape == sample_rgb.shape[:2]
    small = cv2.resize(matte, (256, 256), interpolation=cv2.INTER_AREA) / 255.0
    assert np.mean(np.abs(small - reference)) < 0.01


def test_adapting_zero_heads_without_distilled_heads_fails_before_reading_frames(
    checkpoint, tmp_path
):
    with pytest.raises(UntrainedHeadsError):
        adapt(checkpoint, tmp_path / "no-frames", tmp_path / "out.ckpt", quiet(), None)
    assert not (tmp_path / "out.ckpt").exists()


def test_the_command_line_adapts_a_folder(checkpoint, tiny_frames, tmp_path, capsys):
    folder = tmp_path / "frames"
    folder.mkdir()
    for index, frame in enumerate(tiny_frames):
        cv2.imwrite(str(folder / f"{index:03d}.png"), frame[..., ::-1])
    out = tmp_path / "adapted.ckpt"
    argv = [str(folder), "--out", str(out), "--weights", str(checkpoint), "--quiet"]
    adapt_cli([*argv, "--working-size", str(TINY), "--max-iterations", "2"])
    assert "adapted on 2 frames" in capsys.readouterr().out
    load_checkpoint(out)


def test_the_command_line_passes_the_regularisers(checkpoint, tiny_frames, tmp_path):
    folder = tmp_path / "frames"
    folder.mkdir()
    cv2.imwrite(str(folder / "000.png"), tiny_frames[0][..., ::-1])
    out = tmp_path / "adapted.ckpt"
    argv = [str(folder), "--out", str(out), "--weights", str(checkpoint), "--quiet"]
    options = ["--freeze-backbone", "--anchor-weight", "0.5", "--average-decay", "0.5"]
    adapt_cli([*argv, "--working-size", str(TINY), "--max-iterations", "1", *options])
    original, adapted = read_official(checkpoint), read_official(out)
    backbone = "module.backbone.model.features.0.0.weight"
    assert torch.equal(adapted[backbone], original[backbone])
    with pytest.raises(SystemExit, match="--threads"):
        adapt_cli([*argv, "--threads", "0"])


def test_the_command_line_names_a_bad_parameter(checkpoint, tmp_path):
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "modnet.adapt",
            str(tmp_path),
            "--out",
            str(tmp_path / "a.ckpt"),
            "--weights",
            str(checkpoint),
            "--working-size",
            "100",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode != 0
    assert "working_size: expected a multiple of 32" in result.stderr


def test_settings_refuse_bad_values():
    with pytest.raises(ValueError, match="epochs"):
        SOCSettings(epochs=0)
    with pytest.raises(ValueError, match="max_seconds"):
        SOCSettings(max_seconds=-1.0)
    with pytest.raises(ValueError, match="semantic_scale"):
        SOCWeights(semantic_scale=-1.0)
    with pytest.raises(ValueError, match="device"):
        SOCSettings(device="tpu")
    with pytest.raises(ValueError, match="anchor_weight"):
        SOCSettings(anchor_weight=-0.1)
    with pytest.raises(ValueError, match="average_decay"):
        SOCSettings(average_decay=1.0)
    with pytest.raises(ValueError, match="freeze_backbone"):
        SOCSettings(freeze_backbone="yes")
