"""The task's parameters in one table: name, default, how its string is parsed, and the control
that edits it in Ikomia Studio.

Ikomia passes every parameter value as a string. The task, the widget and saved workflows all go
through :func:`parse_values`, so a value is refused with the same message wherever it comes from,
and a parameter added to :data:`PARAMETERS` appears everywhere at once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from infer_modnet_portrait_matting.modnet import (
    BACKENDS,
    BACKGROUNDS,
    DEFAULT_BACKGROUND,
    DEFAULT_BACKGROUND_COLOR,
    DEFAULT_BLUR_STRENGTH,
    DEFAULT_FOREGROUND,
    DEFAULT_INPUT_SIZE,
    DEFAULT_QUALITY,
    DEFAULT_TEMPORAL,
    DEFAULT_THRESHOLD,
    FOREGROUND_ESTIMATORS,
    INPUT_SIZE_MAX,
    MAX_BLUR_STRENGTH,
    PRECISIONS,
    QUALITIES,
    TEMPORAL_CHOICES,
    check_background_image,
    check_blur_strength,
    check_input_size,
    check_model_weight_file,
    check_threshold,
    cuda_available,
)
from infer_modnet_portrait_matting.parameter_types import (
    Check,
    Combo,
    Control,
    DoubleSpin,
    FileBrowse,
    LineEdit,
    ParameterError,
    Parser,
    Rgb,
    Spin,
    boolean,
    checked,
    choice,
    integer,
    number,
    optional_file,
    rgb,
)

# --- the table ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Parameter:
    name: str
    label: str
    tooltip: str
    default: Any  # a value, or a function called for it (e.g. whether a GPU is there)
    parse: Parser
    control: Control
    # Whether a new value changes the mattes themselves, and so starts a new video stream;
    # False for the parameters that only change what is made from a matte.
    changes_matte: bool = True

    def default_value(self) -> Any:
        return self.default() if callable(self.default) else self.default


PARAMETERS: tuple[Parameter, ...] = (
    Parameter(
        "input_size",
        "Input size",
        f"The image's short side is resized to this value (a multiple of 32, at most "
        f"{INPUT_SIZE_MAX}) for the network",
        DEFAULT_INPUT_SIZE,
        integer(check_input_size),
        Spin(32, INPUT_SIZE_MAX, step=32, snap=True),
    ),
    Parameter(
        "quality",
        "Quality",
        "fast: one pass of the network, the MODNet paper's protocol (above an input size of 512, "
        "a second pass at 512 keeps the semantics); high: a consensus of three scales refined by "
        "the full-resolution photo, sharper edges for about 3 times the time",
        DEFAULT_QUALITY,
        choice(QUALITIES),
        Combo(QUALITIES),
    ),
    Parameter(
        "cuda",
        "CUDA",
        "Run on the GPU",
        cuda_available,
        boolean,
        Check(cuda_available, "No usable CUDA device: the model runs on the CPU"),
    ),
    Parameter(
        "backend",
        "Backend",
        "auto: on the CPU the faster of ONNX Runtime and OpenVINO (timed once per machine), "
        "PyTorch on a GPU",
        "auto",
        choice(BACKENDS),
        Combo(BACKENDS),
    ),
    Parameter(
        "precision",
        "Precision",
        "auto: float16 on a CUDA GPU; on the CPU, bfloat16 where OpenVINO runs on a CPU that "
        "computes it natively (the backbone stays float32), float32 otherwise. fp16: PyTorch on "
        "a CUDA GPU only. int8: ONNX Runtime on the CPU only, never chosen by auto (quantized "
        "once per weights file: 34 s on a 2-core AVX2 CPU)",
        "auto",
        choice(PRECISIONS),
        Combo(PRECISIONS),
    ),
    Parameter(
        "model_weight_file",
        "Model weight file",
        "MODNet .ckpt checkpoint; leave empty to use the default weights",
        "",
        optional_file(check_model_weight_file),
        FileBrowse("MODNet checkpoint (*.ckpt)"),
    ),
    Parameter(
        "threshold",
        "Threshold",
        "Matte value from which a pixel is a person in the segmentation mask",
        DEFAULT_THRESHOLD,
        number(check_threshold),
        DoubleSpin(0.0, 1.0, step=0.05, decimals=2),
        changes_matte=False,
    ),
    Parameter(
        "foreground",
        "Foreground colours",
        "Colours of the cutout and composite where the matte is between 0 and 1: 'estimated' "
        "removes the old background's colour from hair and edges, 'raw' keeps the photo's",
        DEFAULT_FOREGROUND,
        choice(tuple(FOREGROUND_ESTIMATORS)),
        Combo(tuple(FOREGROUND_ESTIMATORS)),
        changes_matte=False,
    ),
    Parameter(
        "background",
        "Background",
        "Behind the person in the composite (last output): transparent (black there, the cutout "
        "keeps the alpha), a colour, the photo's own background blurred, or an image file",
        DEFAULT_BACKGROUND,
        choice(BACKGROUNDS),
        Combo(BACKGROUNDS),
        changes_matte=False,
    ),
    Parameter(
        "background_color",
        "Background colour",
        "R,G,B from 0 to 255, for the 'color' background",
        Rgb(DEFAULT_BACKGROUND_COLOR),
        rgb,
        LineEdit(),
        changes_matte=False,
    ),
    Parameter(
        "blur_strength",
        "Blur strength",
        "For the 'blur' background: the blur's standard deviation, in percent of the image's "
        "long side",
        DEFAULT_BLUR_STRENGTH,
        number(check_blur_strength),
        DoubleSpin(0.1, MAX_BLUR_STRENGTH, step=0.5, decimals=1),
        changes_matte=False,
    ),
    Parameter(
        "background_image",
        "Background image",
        "Image file for the 'image' background, scaled to cover the frame",
        "",
        optional_file(),  # checked with background 'image' (see parse_values)
        FileBrowse("Images (*.png *.jpg *.jpeg *.bmp *.tif *.tiff *.webp)"),
        changes_matte=False,
    ),
    Parameter(
        "temporal",
        "Temporal filter",
        "Steadies the mattes of a video from frame to frame. auto: stable on video, none on "
        "images and arrays; stable: each matte averaged with the previous one carried along "
        "the motion, no delay; ofd: the MODNet paper's one-frame delay (on a live stream of "
        "arrays, the outputs lag one frame); none: every frame on its own",
        DEFAULT_TEMPORAL,
        choice(TEMPORAL_CHOICES),
        Combo(TEMPORAL_CHOICES),
    ),
)
NAMES = tuple(parameter.name for parameter in PARAMETERS)
MATTE_SETTINGS = tuple(parameter.name for parameter in PARAMETERS if parameter.changes_matte)


def check_names(values: Mapping[str, str]) -> None:
    """Refuses names that are not parameters: a misspelt name must not fall back silently to the
    default."""
    unknown = sorted(set(values) - set(NAMES))
    if unknown:
        raise ParameterError(
            f"unknown parameter {', '.join(repr(name) for name in unknown)}; "
            f"accepted: {', '.join(NAMES)}"
        )


def default_values() -> dict[str, Any]:
    return {parameter.name: parameter.default_value() for parameter in PARAMETERS}


def parse_values(values: Mapping[str, str], current: Mapping[str, Any]) -> dict[str, Any]:
    """Every parameter's value: parsed from ``values`` where given, else kept from ``current``.
    Nothing is returned unless all given values are valid, so a refused call changes nothing.

    Only values that change are checked: Ikomia passes every parameter to each call, and a
    file that has gone since it was set (a background image) must not block a change of
    another parameter; the run that needs the file says it is missing."""
    check_names(values)
    changed = {name for name, text in values.items() if str(text) != str(current[name])}
    parsed = {
        parameter.name: (
            parameter.parse(parameter.name, str(values[parameter.name]))
            if parameter.name in changed
            else current[parameter.name]
        )
        for parameter in PARAMETERS
    }
    if parsed["background"] == "image" and changed & {"background", "background_image"}:
        _check_image_background(parsed["background_image"])
    return parsed


def _check_image_background(path: str) -> None:
    """The 'image' background needs a readable image file: checked when either changes."""
    if not path:
        raise ParameterError(
            "background_image: required when background is 'image' (set both in one call)"
        )
    checked(check_background_image, path)


def format_values(values: Mapping[str, Any]) -> dict[str, str]:
    return {name: str(values[name]) for name in NAMES}
