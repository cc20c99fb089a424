"""MODNet portrait matting: network, checkpoint loading and inference, free of Ikomia."""

from .backends import BACKENDS, check_backend, export_onnx
from .checkpoint import CheckpointError, convert_state_dict, load_checkpoint
from .fusion import fold_batch_norms
from .image import network_size, to_rgb_uint8
from .network import MODNet
from .session import (
    DEFAULT_INPUT_SIZE,
    DEFAULT_THRESHOLD,
    MattingResult,
    MattingSession,
    check_input_size,
    check_threshold,
    select_device,
)
from .weights import PHOTOGRAPHIC, Weights, WeightsError, download_weights, resolve_weights

__all__ = [
    "BACKENDS",
    "DEFAULT_INPUT_SIZE",
    "DEFAULT_THRESHOLD",
    "PHOTOGRAPHIC",
    "CheckpointError",
    "MODNet",
    "MattingResult",
    "MattingSession",
    "Weights",
    "WeightsError",
    "check_backend",
    "check_input_size",
    "check_threshold",
    "convert_state_dict",
    "download_weights",
    "export_onnx",
    "fold_batch_norms",
    "load_checkpoint",
    "network_size",
    "resolve_weights",
    "select_device",
    "to_rgb_uint8",
]
