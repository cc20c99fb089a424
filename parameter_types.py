"""What a parameter is made of: the Studio control that edits it (plain data, no Qt here) and
the parser that turns its string into a value, refusing a bad one with a ``ParameterError``
that names the parameter and what it accepts."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from infer_modnet_portrait_matting.modnet import check_background_color

Parser = Callable[[str, str], Any]


class ParameterError(ValueError, RuntimeError):
    """A parameter name or value that the task refuses.

    A ValueError, as Python expects of a bad argument, and a RuntimeError, which is what Ikomia
    raises for a value refused inside ``set_parameters``: callers catch either."""


# --- controls: how the Studio widget edits a parameter (plain data, no Qt here) ---------------


@dataclass(frozen=True)
class Spin:
    """An integer spin box; with ``snap``, a typed value is rounded to a multiple of ``step``."""

    minimum: int
    maximum: int
    step: int = 1
    snap: bool = False


@dataclass(frozen=True)
class DoubleSpin:
    minimum: float
    maximum: float
    step: float
    decimals: int


@dataclass(frozen=True)
class Check:
    """A check box, disabled (and shown unchecked) when ``available()`` is false."""

    available: Callable[[], bool] | None = None
    unavailable_tooltip: str = ""


@dataclass(frozen=True)
class Combo:
    choices: tuple[str, ...]


@dataclass(frozen=True)
class FileBrowse:
    file_filter: str


@dataclass(frozen=True)
class LineEdit:
    pass


Control = Spin | DoubleSpin | Check | Combo | FileBrowse | LineEdit


# --- parsers: string -> value, raising ParameterError that names the parameter -----------------


def _convert(name: str, text: str, convert: Callable[[str], Any], expected: str) -> Any:
    try:
        return _number(text, convert)
    except ValueError:
        raise ParameterError(f"{name}: expected {expected}, got '{text}'") from None


def _number(text: str, convert: Callable[[str], Any]) -> Any:
    # Python reads "1_0" as 10: a digit separator in a parameter is a typo, not a number.
    if "_" in text:
        raise ValueError(text)
    return convert(text)


def checked(check: Callable[[Any], Any], value: Any) -> Any:
    # The core's checks name the parameter themselves; only the exception type changes here.
    try:
        return check(value)
    except (ValueError, FileNotFoundError) as error:
        raise ParameterError(str(error)) from None


def integer(check: Callable[[int], int]) -> Parser:
    return lambda name, text: checked(check, _convert(name, text, int, "an integer"))


def number(check: Callable[[float], float]) -> Parser:
    return lambda name, text: checked(check, _convert(name, text, float, "a number"))


def choice(choices: tuple[str, ...]) -> Parser:
    def parse(name: str, text: str) -> str:
        if text not in choices:
            raise ParameterError(f"{name}: expected one of {', '.join(choices)}, got '{text}'")
        return text

    return parse


_TRUE = ("true", "1", "yes", "on")
_FALSE = ("false", "0", "no", "off")


def boolean(name: str, text: str) -> bool:
    lowered = text.strip().lower()
    if lowered not in _TRUE + _FALSE:
        raise ParameterError(f"{name}: expected True or False, got '{text}'")
    return lowered in _TRUE


class Rgb(tuple):
    """An RGB colour whose string is the ``R,G,B`` that parses back to it."""

    def __str__(self) -> str:
        return ",".join(str(value) for value in self)


def rgb(name: str, text: str) -> Rgb:
    """``R,G,B`` (spaces, and brackets as Python prints a tuple, are allowed)."""
    parts = text.strip().strip("()[]").split(",")
    expected = "three integers in [0, 255] as R,G,B (e.g. 255,255,255)"
    try:
        values = [_number(part, int) for part in parts]
    except ValueError:
        raise ParameterError(f"{name}: expected {expected}, got '{text}'") from None
    try:
        return Rgb(check_background_color(values))
    except ValueError:
        raise ParameterError(f"{name}: expected {expected}, got '{text}'") from None


def optional_file(check: Callable[[str], Any] | None = None) -> Parser:
    """A path, or empty for "none"; a non-empty path must pass ``check``, if given. A relative
    path is made absolute from the working directory of the moment it is set, so that a later
    change of directory (or a saved workflow) still names the same file."""

    def parse(name: str, text: str) -> str:
        path = text.strip()
        if not path:
            return path
        path = str(Path(path).expanduser().absolute())
        if check is not None:
            checked(check, path)
        return path

    return parse
