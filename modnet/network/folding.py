"""Folds MODNet's inference-time BatchNorms into the convolutions that precede them.

In eval mode a BatchNorm is a per-channel affine map, so it can be merged into the weights and
bias of the convolution before it, saving a pass over every feature map. IBNorm's batch-norm
half folds into the first half of its convolution's output channels; its instance-norm half
depends on each image's statistics and stays.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval

from .layers import Conv2dIBNormRelu, IBNorm
from .model import MODNet


def fold_batch_norms(model: MODNet) -> MODNet:
    """Returns ``model`` (in eval mode) with every foldable BatchNorm merged into its conv."""
    model.eval()
    for module in model.modules():
        if isinstance(module, nn.Sequential):
            _fold_sequential(module)
        if isinstance(module, Conv2dIBNormRelu) and len(module.layers) > 1:
            _fold_ibnorm(*module.layers[:2])
    return model


def _fold_sequential(sequence: nn.Sequential) -> None:
    # torchvision's MobileNetV2 blocks: Conv2d immediately followed by BatchNorm2d.
    for index in range(len(sequence) - 1):
        conv, norm = sequence[index], sequence[index + 1]
        if isinstance(conv, nn.Conv2d) and isinstance(norm, nn.BatchNorm2d):
            sequence[index] = fuse_conv_bn_eval(conv, norm)
            sequence[index + 1] = nn.Identity()


@torch.no_grad()
def _fold_ibnorm(conv: nn.Module, norm: nn.Module) -> None:
    if not isinstance(norm, IBNorm) or not isinstance(norm.bnorm, nn.BatchNorm2d):
        return  # a unit without IBNorm, or already folded
    bn, half = norm.bnorm, norm.bnorm_channels
    scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
    conv.weight[:half] *= scale[:, None, None, None]
    conv.bias[:half] = (conv.bias[:half] - bn.running_mean) * scale + bn.bias
    norm.bnorm = nn.Identity()
