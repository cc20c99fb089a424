"""What a batch run makes of each photo: the plugin's parameters, the outputs and their formats,
checked with the core's own checks so that a value is refused with the plugin's message."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from modnet import (
    DEFAULT_BACKGROUND,
    DEFAULT_BACKGROUND_COLOR,
    DEFAULT_BLUR_STRENGTH,
    DEFAULT_FOREGROUND,
    DEFAULT_INPUT_SIZE,
    DEFAULT_QUALITY,
    PHOTOGRAPHIC,
    check_backend,
    check_background,
    check_background_color,
    check_background_image,
    check_blur_strength,
    check_foreground,
    check_input_size,
    check_model_weight_file,
    check_precision,
    check_quality,
)

OUTPUT_KINDS = ("matte", "cutout", "composite")
# The formats each output may be written in; the first is the default. The matte has one
# channel and must stay lossless; the cutout needs an alpha channel.
FORMATS: dict[str, tuple[str, ...]] = {
    "matte": ("png",),
    "cutout": ("png", "webp"),
    "composite": ("jpg", "png", "webp"),
}
# Where the weights are looked for when no file is given: the plugin's own ``weights/`` folder.
WEIGHTS_FOLDER = Path(__file__).resolve().parents[2] / "weights"
# Bumped whenever the same parameters would write different bytes (a new encoder setting, a
# change in how outputs are made), so that a rerun redoes what an older version wrote.
OUTPUT_VERSION = 1


def check_outputs(outputs: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """At least one of :data:`OUTPUT_KINDS`, each once; returned in the canonical order."""
    unknown = [kind for kind in outputs if kind not in OUTPUT_KINDS]
    if unknown or not outputs or len(set(outputs)) != len(outputs):
        raise ValueError(
            f"outputs: expected one or more of {', '.join(OUTPUT_KINDS)}, each once, "
            f"separated by commas, got '{','.join(outputs)}'"
        )
    return tuple(kind for kind in OUTPUT_KINDS if kind in outputs)


def check_format(kind: str, file_format: str) -> str:
    if file_format not in FORMATS[kind]:
        raise ValueError(
            f"{kind}_format: expected one of {', '.join(FORMATS[kind])}, got '{file_format}'"
        )
    return file_format


def default_weights(model_weight_file: str | Path = "") -> Path:
    """The checkpoint to load: ``model_weight_file`` when given, else the plugin's default
    weights in ``weights/`` (the batch runner downloads nothing)."""
    if str(model_weight_file):
        return check_model_weight_file(model_weight_file)
    local = WEIGHTS_FOLDER / PHOTOGRAPHIC.filename
    if not local.is_file():
        raise FileNotFoundError(
            f"model_weight_file: no default weights at '{local}'; give the path of a MODNet "
            ".ckpt checkpoint with --model-weight-file"
        )
    return local


@dataclass(frozen=True)
class BatchOptions:
    """The plugin's parameters (same names, values and checks) and the files to write."""

    weights: Path  # see default_weights
    input_size: int = DEFAULT_INPUT_SIZE
    quality: str = DEFAULT_QUALITY
    cuda: bool = False
    backend: str = "auto"
    precision: str = "auto"
    foreground: str = DEFAULT_FOREGROUND
    background: str = DEFAULT_BACKGROUND
    background_color: tuple[int, int, int] = DEFAULT_BACKGROUND_COLOR
    blur_strength: float = DEFAULT_BLUR_STRENGTH
    background_image: Path | None = None
    outputs: tuple[str, ...] = OUTPUT_KINDS
    formats: dict[str, str] = field(default_factory=lambda: {k: v[0] for k, v in FORMATS.items()})
    cache_dir: Path | None = None

    def __post_init__(self) -> None:
        for name in ("weights", "background_image", "cache_dir"):  # str or Path given
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, Path(value).expanduser())
        check_input_size(self.input_size)
        check_quality(self.quality)
        check_precision(self.precision, check_backend(self.backend))
        check_foreground(self.foreground)
        check_background(self.background)
        object.__setattr__(self, "background_color", check_background_color(self.background_color))
        check_blur_strength(self.blur_strength)
        object.__setattr__(self, "outputs", check_outputs(self.outputs))
        for kind, file_format in self.formats.items():
            check_format(kind, file_format)
        if self.background == "image" and "composite" in self.outputs:
            if self.background_image is None:
                raise ValueError("background_image: required when background is 'image'")
            check_background_image(self.background_image)

    def digest(self) -> str:
        """A digest of everything that decides the outputs' bytes: two runs with the same
        digest write the same files. Files (weights, background image) count by content."""
        settings = asdict(self)
        settings.pop("cache_dir")  # where exports are kept changes nothing they compute
        settings["weights"] = _file_digest(self.weights)
        if self.background_image is not None:
            settings["background_image"] = _file_digest(self.background_image)
        settings["formats"] = {kind: self.formats[kind] for kind in self.outputs}
        settings["version"] = OUTPUT_VERSION
        text = json.dumps(settings, sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:16]


def _file_digest(path: Path) -> str:
    with Path(path).open("rb") as file:
        return hashlib.file_digest(file, "sha256").hexdigest()
