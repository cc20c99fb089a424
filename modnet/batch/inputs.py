"""The photos of a run: a folder walked recursively, or a text file listing paths, each photo
with the relative path that its outputs take in the output tree."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

# Files that a folder walk picks up, by extension (any case). A file whose content is not what
# its extension says is still taken, and decoded by content or refused with a reason.
IMAGE_EXTENSIONS = frozenset(
    (".jpg", ".jpeg", ".jpe", ".png", ".bmp", ".tif", ".tiff", ".webp", ".ppm", ".pgm")
)
# A list of paths, rather than a photo, when the input is a file with one of these extensions.
LIST_EXTENSIONS = (".txt", ".lst")


@dataclass(frozen=True)
class InputFile:
    """A photo to matte: where it is, where its outputs go, and the stat that tells a rerun
    whether it changed since its outputs were written."""

    path: Path
    relative: str  # POSIX-style path under the input root
    size: int
    mtime_ns: int


@dataclass(frozen=True)
class InputTree:
    """The photos under ``root``, sorted by relative path."""

    root: Path
    files: tuple[InputFile, ...]


def collect_inputs(
    source: str | Path, root: str | Path | None = None, *, skip: Path | None = None
) -> InputTree:
    """The photos of ``source``: a folder (recursively, hidden files and folders left out) or a
    ``.txt``/``.lst`` file with one path per line (relative paths are read from the list's
    folder; blank lines and lines starting with ``#`` are ignored).

    ``root``: the folder that relative paths start from; default the folder itself, or the
    list's folder. Every photo must be under it. ``skip``: a folder left out of the walk (the
    output folder, when it is inside the input folder).
    """
    source = Path(source).expanduser()
    if source.is_dir():
        base = Path(root).expanduser() if root is not None else source
        paths = _walk(source, skip)
    elif source.is_file() and source.suffix.lower() in LIST_EXTENSIONS:
        base = Path(root).expanduser() if root is not None else source.parent
        paths = _read_list(source)
    else:
        raise ValueError(
            f"input: expected a folder of photos or a {'/'.join(LIST_EXTENSIONS)} file listing "
            f"them, got '{source}'"
        )
    base = base.absolute()
    files = [_input_file(path, base) for path in paths]
    files.sort(key=lambda file: file.relative)
    return InputTree(root=base, files=tuple(files))


def _walk(folder: Path, skip: Path | None) -> list[Path]:
    skipped = skip.absolute() if skip is not None else None
    found = []
    for directory, subfolders, names in os.walk(folder.absolute()):
        # Pruned in place so that os.walk does not descend into them.
        subfolders[:] = [
            name
            for name in subfolders
            if not name.startswith(".") and Path(directory, name) != skipped
        ]
        found += [
            Path(directory, name)
            for name in names
            if not name.startswith(".") and Path(name).suffix.lower() in IMAGE_EXTENSIONS
        ]
    return found


def _read_list(list_file: Path) -> list[Path]:
    lines = list_file.read_text(encoding="utf-8").splitlines()
    entries = [line.strip() for line in lines]
    paths = [
        # normpath folds "a/../b" so that one photo has one relative path.
        Path(os.path.normpath((list_file.parent / Path(entry).expanduser()).absolute()))
        for entry in entries
        if entry and not entry.startswith("#")
    ]
    return list(dict.fromkeys(paths))  # a photo listed twice is matted once


def _input_file(path: Path, base: Path) -> InputFile:
    try:
        relative = path.relative_to(base)
    except ValueError:
        raise ValueError(
            f"input: '{path}' is not under the root folder '{base}'; give --root a folder "
            "that holds every listed photo"
        ) from None
    # A listed path that is missing is still an input: its failure is recorded like any other.
    try:
        stat = path.stat()
        size, mtime_ns = stat.st_size, stat.st_mtime_ns
    except OSError:
        size, mtime_ns = -1, -1
    return InputFile(path=path, relative=relative.as_posix(), size=size, mtime_ns=mtime_ns)
