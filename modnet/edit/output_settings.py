"""The settings and the results of :func:`modnet.edit.outputs.make_outputs`, shared by its
CPU and device implementations."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..pipeline.session import DEFAULT_THRESHOLD, check_threshold
from .compositing import (
    DEFAULT_BACKGROUND,
    DEFAULT_BACKGROUND_COLOR,
    DEFAULT_BLUR_STRENGTH,
    check_background,
    check_background_color,
    check_blur_strength,
)
from .foreground import DEFAULT_FOREGROUND, check_foreground


@dataclass(frozen=True)
class OutputSettings:
    """The parameters of the outputs, as the plugin names them, checked when made.

    ``rgb``: the composite of a ``transparent`` background as RGB, the person over black (for
    what holds no alpha); else it is the RGBA cutout (see
    :func:`modnet.edit.compositing.replace_background`)."""

    foreground: str = DEFAULT_FOREGROUND
    background: str = DEFAULT_BACKGROUND
    background_color: tuple[int, int, int] = DEFAULT_BACKGROUND_COLOR
    blur_strength: float = DEFAULT_BLUR_STRENGTH
    threshold: float = DEFAULT_THRESHOLD
    rgb: bool = True

    def __post_init__(self) -> None:
        check_foreground(self.foreground)
        check_background(self.background)
        color = check_background_color(self.background_color)
        object.__setattr__(self, "background_color", color)
        check_blur_strength(self.blur_strength)
        check_threshold(self.threshold)


@dataclass(frozen=True)
class Outputs:
    """``cutout``: H x W x 4 RGBA uint8; ``composite``: H x W x 3 RGB uint8 (RGBA for a
    transparent background without ``rgb``); ``mask``: H x W uint8, 1 for the person."""

    cutout: np.ndarray
    composite: np.ndarray
    mask: np.ndarray
