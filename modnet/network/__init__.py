"""The network: MODNet's architecture and layers, BatchNorm folding, checkpoint reading.

``MODNet`` is imported on first use, so that reading a checkpoint's index
(``checkpoint_file``) does not import PyTorch.
"""

from importlib import import_module

__all__ = ["MODNet"]


def __getattr__(name: str) -> object:
    if name != "MODNet":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return import_module(".model", __name__).MODNet
