"""MODNet portrait matting: network, checkpoint loading and inference, free of Ikomia.

The package is laid out by stage, each importing only the ones listed after it (checked by
import-linter, see ``pyproject.toml``):

- ``video/``: matte streams over frames, temporal filters (OFD, optical-flow smoothing);
- ``edit/``: what is made of a matte: foreground colours, cutouts, new backgrounds;
- ``pipeline/``: the session (photo in, matte out), multi-scale quality, guided upsampling;
- ``weights.py``: where the checkpoint comes from (local file or download);
- ``runtime/``: runners of the network (PyTorch, ONNX Runtime, OpenVINO), their exports and the
  choice between them;
- ``network/``: the architecture, its layers, BatchNorm folding, checkpoint reading;
- ``image.py``, ``limits.py``, ``files.py``, ``errors.py``, ``workers.py`` (threads for the work
  around the network): shared by all of them.

Names are imported on first use: inference from a cached ONNX export never imports PyTorch,
whose import alone costs hundreds of megabytes.
"""

from importlib import import_module

_EXPORTS = {
    "runtime.factory": ("BACKENDS", "check_backend"),
    "runtime.export": ("export_onnx",),
    "network.checkpoint": ("load_checkpoint",),
    "network.checkpoint_file": ("check_checkpoint_file", "convert_state_dict", "read_layout"),
    "edit.compositing": (
        "BACKGROUNDS",
        "DEFAULT_BACKGROUND",
        "DEFAULT_BACKGROUND_COLOR",
        "DEFAULT_BLUR_STRENGTH",
        "MAX_BLUR_STRENGTH",
        "check_background",
        "check_background_color",
        "check_blur_strength",
        "cutout",
        "over_black",
        "over_color",
        "replace_background",
    ),
    "edit.background_file": (
        "MAX_BACKGROUND_PIXELS",
        "BackgroundCache",
        "check_background_image",
        "read_background_image",
    ),
    "edit.output_settings": ("OutputSettings", "Outputs"),
    "edit.outputs": ("make_outputs",),
    "runtime.devices": ("cuda_available", "select_device"),
    "runtime.threads": ("check_network_threads", "network_threads", "set_network_threads"),
    "errors": ("CheckpointError", "NonFiniteOutputError"),
    "edit.foreground": (
        "DEFAULT_FOREGROUND",
        "FOREGROUND_ESTIMATORS",
        "check_foreground",
        "estimate_cutout",
        "estimate_foreground",
    ),
    "network.folding": ("fold_batch_norms",),
    "image": ("network_size", "to_rgb_uint8"),
    "limits": ("ASPECT_ALLOWANCE", "INPUT_SIZE_MAX", "MAX_NETWORK_PIXELS", "network_pixel_cap"),
    "pipeline.multiscale": ("DEFAULT_QUALITY", "QUALITIES", "check_quality"),
    "network.model": ("MODNet",),
    "runtime.precision": ("PRECISIONS", "check_precision"),
    "pipeline.session": (
        "DEFAULT_INPUT_SIZE",
        "DEFAULT_THRESHOLD",
        "MattingResult",
        "MattingSession",
        "check_input_size",
        "check_threshold",
    ),
    "video.stream": (
        "DEFAULT_TEMPORAL",
        "TEMPORAL_CHOICES",
        "FilePosition",
        "MatteStream",
        "StreamFrame",
        "resolve_temporal",
    ),
    "video.temporal": ("TEMPORAL_METHODS", "MatteFilter", "check_temporal", "create_filter"),
    "weights": (
        "PHOTOGRAPHIC",
        "Weights",
        "WeightsError",
        "check_model_weight_file",
        "download_weights",
        "resolve_weights",
    ),
}
_MODULE_OF = {name: module for module, names in _EXPORTS.items() for name in names}

__all__ = sorted(_MODULE_OF)


def __getattr__(name: str) -> object:
    if name not in _MODULE_OF:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f".{_MODULE_OF[name]}", __name__), name)
