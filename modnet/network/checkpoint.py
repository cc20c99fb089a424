"""Loading the official MODNet checkpoints into :class:`modnet.network.model.MODNet`.

Official files are state dicts saved from ``nn.DataParallel`` (keys prefixed ``module.``) of the
reference implementation, whose MobileNetV2 names its layers differently from torchvision's and
is registered twice (as ``backbone`` and as ``lr_branch.backbone``).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import torch

from ..errors import CheckpointError
from .checkpoint_file import convert_state_dict, verify_checksums
from .model import MODNet


def read_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    """Reads a checkpoint file safely (tensors only, no pickled code), its checksums
    verified."""
    try:
        verify_checksums(Path(path))
        state = torch.load(path, map_location="cpu", weights_only=True)
    except CheckpointError:
        raise
    except Exception as exc:  # torch raises many types for truncated or foreign files
        raise CheckpointError(f"{path}: not a readable PyTorch checkpoint ({exc})") from exc
    if isinstance(state, Mapping) and "state_dict" in state:
        state = state["state_dict"]
    if not isinstance(state, Mapping) or not all(
        isinstance(v, torch.Tensor) for v in state.values()
    ):
        raise CheckpointError(
            f"{path}: expected a state dict of tensors, got {type(state).__name__}"
        )
    return dict(state)


def load_weights(model: MODNet, state_dict: Mapping[str, torch.Tensor], source: str) -> None:
    """Loads ``state_dict`` strictly; any missing, extra or misshapen tensor names ``source``."""
    try:
        converted = convert_state_dict(state_dict)
    except CheckpointError as exc:
        raise CheckpointError(f"{source}: not a MODNet checkpoint: {exc}") from None
    expected = model.state_dict()
    problems = []
    missing = sorted(expected.keys() - converted.keys())
    unexpected = sorted(converted.keys() - expected.keys())
    if missing:
        problems.append(f"{len(missing)} missing keys (first: {missing[0]})")
    if unexpected:
        problems.append(f"{len(unexpected)} unexpected keys (first: {unexpected[0]})")
    for key in sorted(expected.keys() & converted.keys()):
        if converted[key].shape != expected[key].shape:
            problems.append(
                f"'{key}' has shape {tuple(converted[key].shape)}, "
                f"expected {tuple(expected[key].shape)}"
            )
            break
    if not problems:
        # NaN or infinite weights load without complaint and make every matte empty.
        unfit = [key for key in sorted(converted) if not torch.isfinite(converted[key]).all()]
        if unfit:
            problems.append(f"{len(unfit)} tensors hold NaN or infinite values (first: {unfit[0]})")
    if problems:
        raise CheckpointError(f"{source}: not a MODNet checkpoint: " + "; ".join(problems))
    model.load_state_dict(converted, strict=True)


def load_checkpoint(path: str | Path) -> MODNet:
    """Builds MODNet in eval mode with the weights of an official checkpoint file."""
    model = MODNet()
    load_weights(model, read_state_dict(path), str(path))
    return model.eval()
