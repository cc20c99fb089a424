"""The training heads of a checkpoint, and checkpoints written back in the official format.

The official files hold the heads beside the network; the file in the project's shared models
was rebuilt from the authors' ONNX export, which has no heads, so its heads are zero. Zero heads
predict 0.5 everywhere and cannot take part in SOC: then the heads distilled by
``scripts/tools/distill_heads.py`` (shipped as ``distilled_heads.npz``, pickle-free) stand in.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
import torch

from ..errors import CheckpointError
from ..network.checkpoint import load_checkpoint
from ..network.checkpoint_file import check_checkpoint_file, convert_state_dict
from ..network.model import MODNet
from .heads import Heads

DISTILLED_HEADS = Path(__file__).with_name("distilled_heads.npz")
HEAD_PREFIXES = ("lr_branch.conv_lr.", "hr_branch.conv_hr.")
# The last convolution of each head: while it is zero, the head predicts 0.5 everywhere.
HEAD_OUTPUTS = ("lr_branch.conv_lr.layers.0.weight", "hr_branch.conv_hr.1.layers.0.weight")
_PREFIX = "module."
_SECOND_BACKBONE = "lr_branch.backbone."  # the official files register the backbone twice


class UntrainedHeadsError(CheckpointError):
    """SOC was asked for with a checkpoint whose heads are zero and no distilled heads."""


def read_official(path: str | Path) -> dict[str, torch.Tensor]:
    """The tensors of the checkpoint at ``path`` (checked to be MODNet's), keys as saved."""
    path = check_checkpoint_file(path)
    state = torch.load(path, map_location="cpu", weights_only=True)
    if isinstance(state, Mapping) and "state_dict" in state:
        state = state["state_dict"]
    return dict(state)


def head_tensors(state: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The heads' tensors of an official state dict, keys without ``module.``."""
    heads = {}
    for key, value in state.items():
        name = key.removeprefix(_PREFIX)
        if name.startswith(HEAD_PREFIXES):
            heads[name] = value
    return heads


def heads_trained(heads: Mapping[str, torch.Tensor]) -> bool:
    """Whether both heads can predict anything: their output convolutions hold a non-zero."""
    return all(name in heads and bool(heads[name].any()) for name in HEAD_OUTPUTS)


def save_heads(heads: Heads, path: str | Path) -> None:
    """Writes the heads' tensors to an ``.npz`` under their official names (no pickle)."""
    arrays = {k: v.detach().cpu().numpy() for k, v in heads.official_state_dict().items()}
    np.savez_compressed(path, **arrays)


def load_heads_file(path: str | Path) -> dict[str, torch.Tensor]:
    """The heads' tensors of an ``.npz`` written by :func:`save_heads`."""
    with np.load(path, allow_pickle=False) as arrays:
        return {name: torch.from_numpy(arrays[name].copy()) for name in arrays.files}


def resolve_heads(
    state: Mapping[str, torch.Tensor], distilled: str | Path | None = DISTILLED_HEADS
) -> tuple[Heads, str]:
    """The heads SOC uses for a checkpoint's ``state`` and where they come from: the
    checkpoint's own when trained ("checkpoint"), else the distilled ones ("distilled")."""
    heads = Heads()
    own = head_tensors(state)
    if heads_trained(own):
        heads.load_official_state_dict(own)
        return heads, "checkpoint"
    if distilled is None or not Path(distilled).is_file():
        raise UntrainedHeadsError(
            "SOC needs the semantic and detail heads (lr_branch.conv_lr, hr_branch.conv_hr): "
            f"the checkpoint's are zero and no distilled heads were found at {distilled}; "
            "use the authors' checkpoint or run scripts/tools/distill_heads.py"
        )
    heads.load_official_state_dict(load_heads_file(distilled))
    return heads, "distilled"


def load_for_soc(
    path: str | Path, distilled: str | Path | None = DISTILLED_HEADS
) -> tuple[MODNet, Heads, str, dict[str, torch.Tensor]]:
    """The network (BatchNorms not folded), its heads (see :func:`resolve_heads`), their
    origin, and the checkpoint's tensors as saved (the template of :func:`official_state`)."""
    state = read_official(path)
    heads, origin = resolve_heads(state, distilled)
    return load_checkpoint(path), heads, origin, state


def _network_name(official: str) -> str:
    """The network's name of the tensor saved under the official backbone or branch name."""
    if official.startswith(_SECOND_BACKBONE):
        official = official.removeprefix("lr_branch.")
    (name,) = convert_state_dict({official: None})
    return name


def official_state(
    network: MODNet, heads: Heads, template: Mapping[str, torch.Tensor]
) -> dict[str, torch.Tensor]:
    """``network`` and ``heads`` as a state dict with the keys of ``template`` (an official
    checkpoint's, with its ``module.`` prefix and second backbone if it has them), the heads
    added if it has none."""
    prefix = _PREFIX if all(key.startswith(_PREFIX) for key in template) else ""
    head_values = heads.official_state_dict()
    names = [key.removeprefix(prefix) for key in template]
    names += [name for name in head_values if name not in names]
    network_values = network.state_dict()
    return {
        prefix + name: (
            head_values[name] if name in head_values else network_values[_network_name(name)]
        )
        .detach()
        .cpu()
        .clone()
        for name in names
    }
