"""Device selection that imports PyTorch only when a GPU may be there.

``import torch`` alone costs about 700 MB of resident memory with a CUDA build; on a machine
without an NVIDIA driver the answer is known without it, so the ONNX Runtime path stays light.
"""

from __future__ import annotations

import ctypes.util
import logging
from pathlib import Path

logger = logging.getLogger(__name__)


def _nvidia_driver_present() -> bool:
    return Path("/proc/driver/nvidia/version").exists() or bool(ctypes.util.find_library("cuda"))


def cuda_available() -> bool:
    """True when PyTorch can use a CUDA device."""
    if not _nvidia_driver_present():
        return False
    import torch

    return torch.cuda.is_available()


def select_device(cuda: bool) -> str:
    """``"cuda"`` when asked for and usable; otherwise ``"cpu"``, with a warning if asked."""
    if cuda and cuda_available():
        return "cuda"
    if cuda:
        logger.warning("cuda: no usable CUDA device found, running on the CPU")
    return "cpu"
