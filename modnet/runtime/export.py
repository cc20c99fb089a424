"""The ONNX export of the network, checked against PyTorch, and the cache that keeps it.

ONNX Runtime and OpenVINO both start from this export; PyTorch is imported only to build it.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..errors import NonFiniteOutputError
from .export_cache import ExportCache

if TYPE_CHECKING:
    from collections.abc import Callable

    from ..network import MODNet

# Bump when the exported graph changes, so that cached exports are rebuilt.
EXPORT_VERSION = "3"
# The ONNX export must reproduce the PyTorch alpha to this max abs difference.
EXPORT_TOLERANCE = 1e-4
# The ONNX export names each node after the module that made it; the backbone is MODNet.backbone.
BACKBONE_SCOPE = "/backbone/"


def load_model(weights: Path) -> MODNet:
    """The network with its BatchNorms folded, ready for inference."""
    from ..network.checkpoint import load_checkpoint
    from ..network.folding import fold_batch_norms

    return fold_batch_norms(load_checkpoint(weights))


def export_onnx(model: MODNet, path: str | Path) -> Path:
    """Exports ``model`` to ``path`` with dynamic batch, height and width (input ``input``,
    output ``output``)."""
    import torch

    axes = {0: "batch", 2: "height", 3: "width"}
    with warnings.catch_warnings():
        # The TorchScript exporter is deprecated in favour of one that needs onnxscript; it
        # still exports this static graph exactly. InstanceNorm's "train=True" notice is
        # expected: it normalises with each image's own statistics by design.
        warnings.simplefilter("ignore")
        torch.onnx.export(
            model.cpu().eval(),
            (torch.zeros(1, 3, 64, 64),),
            str(path),
            dynamo=False,
            input_names=["input"],
            output_names=["output"],
            dynamic_axes={"input": axes, "output": axes},
            opset_version=17,
        )
    return Path(path)


def export_error(model: MODNet, runner: Callable[[np.ndarray], np.ndarray]) -> float:
    """Max abs difference between ``runner`` and PyTorch's ``model`` on a fixed input (NaN if
    the runner's output is not finite); raises if PyTorch's is not."""
    from .torch_runner import TorchRunner

    x = np.random.default_rng(0).uniform(-1, 1, (1, 3, 96, 128)).astype(np.float32)
    expected = TorchRunner(model, "cpu")(x)
    if not np.isfinite(expected).all():
        raise NonFiniteOutputError.for_output()
    return float(np.abs(runner(x) - expected).max())


def check_error(error: float, tolerance: float, what: str, advice: str) -> None:
    """Refuses a conversion whose ``error`` (``what`` says against what) exceeds ``tolerance``."""
    if not error <= tolerance:  # also catches NaN
        raise RuntimeError(f"{what} by {error:.2g} (> {tolerance}); it was not kept, {advice}")


def export_cache(cache_dir: Path) -> ExportCache:
    return ExportCache(cache_dir, prefix="modnet", suffix=".onnx", version=EXPORT_VERSION)
