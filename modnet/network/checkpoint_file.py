"""A checkpoint file's tensor names and shapes, read without PyTorch and without running code.

``torch.save`` writes a zip archive whose ``data.pkl`` describes each tensor (its storage, shape
and strides) apart from the data, or, in its legacy format, a series of pickles. Unpickling that
description with every global replaced by an inert stand-in recovers the state dict's layout in
milliseconds, so a wrong file is refused when it is chosen rather than seconds later when it is
loaded. The official files' naming is mapped here onto :class:`modnet.network.model.MODNet`'s.

Each member of the zip archive carries a CRC-32 checksum of its bytes, which ``torch.load`` does
not verify: a file with damaged bytes would load and give another matte. They are verified once
per file, and again when the file changes (see :func:`modnet.files.file_identity`).
"""

from __future__ import annotations

import hashlib
import os
import pickle
import re
import zipfile
from collections import OrderedDict
from collections.abc import Mapping
from pathlib import Path
from typing import IO, Any

from ..errors import CheckpointError
from ..files import file_identity

# sha256 of MODNet's state dict layout, one "name shape" line per tensor in name order (see
# ``layout_digest``); tests/test_checkpoint_file.py recomputes it from the network.
MODNET_LAYOUT_DIGEST = "b466d14686337548d47ed8dcd8cbd9dc4155aa18b706e92441bf3980ba483102"
MODNET_TENSOR_COUNT = 428
# MODNet's data.pkl is 100 kB; a description larger than this is not a MODNet checkpoint.
MAX_DESCRIPTION_BYTES = 16 << 20
_LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
# Path -> identity of the files whose checksums matched (a few checkpoints in a process).
_VERIFIED: dict[str, tuple[int, ...]] = {}

# Position in the reference InvertedResidual's flat Sequential -> torchvision's nested names.
# The first block has no expansion layer, hence its own table.
_FIRST_BLOCK = {"0": "0.0", "1": "0.1", "3": "1", "4": "2"}
_EXPANDED_BLOCK = {"0": "0.0", "1": "0.1", "3": "1.0", "4": "1.1", "6": "2", "7": "3"}
_BLOCK_KEY = re.compile(r"backbone\.model\.features\.(\d+)\.conv\.(\d+)\.(.+)")

# Present in official files, unused at inference: the semantic and detail training heads, and
# the second registration of the backbone (the same tensors as ``backbone.model``).
_UNUSED_PREFIXES = ("lr_branch.conv_lr.", "hr_branch.conv_hr.", "lr_branch.backbone.")


def _torchvision_key(key: str) -> str:
    match = _BLOCK_KEY.fullmatch(key)
    if match:
        block, index, rest = match.groups()
        table = _FIRST_BLOCK if block == "1" else _EXPANDED_BLOCK
        return f"backbone.features.{block}.conv.{table[index]}.{rest}"
    return key.replace("backbone.model.features.", "backbone.features.", 1)


def convert_state_dict(state_dict: Mapping[str, Any]) -> dict[str, Any]:
    """Maps an official MODNet state dict (with or without ``module.``) onto MODNet's names."""
    converted = {}
    for key, value in state_dict.items():
        key = key.removeprefix("module.")
        if key.startswith(_UNUSED_PREFIXES):
            continue
        try:
            converted[_torchvision_key(key)] = value
        except KeyError:
            raise CheckpointError(f"unexpected backbone layer '{key}'") from None
    return converted


def layout_digest(shapes: Mapping[str, tuple[int, ...]]) -> str:
    lines = "".join(f"{name} {tuple(shapes[name])}\n" for name in sorted(shapes))
    return hashlib.sha256(lines.encode()).hexdigest()


class _Shape(tuple):
    """Stands for a tensor: its shape."""


class _Inert:
    """Stands for any other global: records nothing, runs nothing."""

    def __new__(cls, *args: object, **kwargs: object) -> _Inert:
        return super().__new__(cls)

    def __init__(self, *args: object, **kwargs: object) -> None:
        pass

    def __setstate__(self, state: object) -> None:
        pass


def _rebuild_tensor(storage: object, offset: int, size: tuple[int, ...], *rest: object) -> _Shape:
    return _Shape(size)


def _rebuild_parameter(data: object, *rest: object) -> object:
    return data


_STAND_INS = {
    ("collections", "OrderedDict"): OrderedDict,
    ("torch._utils", "_rebuild_tensor"): _rebuild_tensor,
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor,
    ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
    ("torch._utils", "_rebuild_parameter_with_state"): _rebuild_parameter,
}


class _DescriptionUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        return _STAND_INS.get((module, name)) or type(name, (_Inert,), {})

    def persistent_load(self, pid: object) -> None:
        return None  # a storage: its data is not read


def _unpickle(file: IO[bytes]) -> Any:
    return _DescriptionUnpickler(file).load()


def _read_description(path: Path) -> Any:
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            records = [i for i in archive.infolist() if i.filename.endswith("data.pkl")]
            if len(records) != 1:
                raise CheckpointError(f"{path}: a zip archive, but not a PyTorch checkpoint")
            if records[0].file_size > MAX_DESCRIPTION_BYTES:
                raise CheckpointError(f"{path}: not a MODNet checkpoint (its index is too large)")
            with archive.open(records[0]) as description:
                return _unpickle(description)
    with path.open("rb") as file:
        # Legacy format: magic number, protocol version and system information, then the object.
        if _unpickle(file) != _LEGACY_MAGIC:
            raise CheckpointError(f"{path}: not a PyTorch checkpoint")
        _unpickle(file)
        _unpickle(file)
        return _unpickle(file)


def read_layout(path: str | os.PathLike[str]) -> dict[str, tuple[int, ...]]:
    """The shape of each tensor of the checkpoint at ``path``, named as in :class:`MODNet`."""
    path = Path(path)
    try:
        state = _read_description(path)
    except CheckpointError:
        raise
    except OSError as exc:
        raise CheckpointError(f"{path}: not a readable file ({exc})") from None
    except Exception as exc:  # foreign bytes fail the unpickler in many ways (none runs code)
        raise CheckpointError(f"{path}: not a readable PyTorch checkpoint ({exc})") from None
    if isinstance(state, Mapping) and "state_dict" in state:
        state = state["state_dict"]
    if not isinstance(state, Mapping) or not all(isinstance(v, _Shape) for v in state.values()):
        raise CheckpointError(f"{path}: not a state dict of tensors")
    try:
        return convert_state_dict(state)
    except CheckpointError as exc:
        raise CheckpointError(f"{path}: not a MODNet checkpoint: {exc}") from None


def verify_checksums(path: Path) -> None:
    """Raises :class:`CheckpointError` naming the first member of the zip checkpoint at
    ``path`` whose bytes do not match their CRC-32 (26 MB read: tens of milliseconds, once per
    file and again when it changes). Files in the legacy format carry no checksum."""
    identity = file_identity(path)
    if _VERIFIED.get(str(path)) == identity or not zipfile.is_zipfile(path):
        return
    try:
        with zipfile.ZipFile(path) as archive:
            damaged = archive.testzip()
    except (zipfile.BadZipFile, OSError) as exc:
        raise CheckpointError(f"{path}: damaged: not a readable zip archive ({exc})") from None
    if damaged is not None:
        raise CheckpointError(
            f"{path}: damaged: the bytes of '{damaged}' do not match their CRC-32 checksum; "
            "replace the file with an intact copy (a downloaded default file: delete it to "
            "download it again)"
        )
    _VERIFIED[str(path)] = identity


def check_checkpoint_file(path: str | os.PathLike[str]) -> Path:
    """``path`` if it is a readable PyTorch checkpoint whose tensor names and shapes are
    MODNet's and whose bytes match their checksums; its values are checked when it is loaded
    (see :mod:`modnet.network.checkpoint`)."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such checkpoint file")
    layout = read_layout(path)
    if layout_digest(layout) != MODNET_LAYOUT_DIGEST:
        raise CheckpointError(
            f"{path}: not a MODNet checkpoint: its {len(layout)} tensors do not have the names "
            f"and shapes of MODNet's {MODNET_TENSOR_COUNT}"
        )
    verify_checksums(path)
    return path
