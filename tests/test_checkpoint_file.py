"""The cheap checkpoint check: layout read without PyTorch, without running pickled code."""

from __future__ import annotations

import os
import pickle
import random
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from conftest import CHECKPOINT, REPO, damaged_copy
from modnet import (
    CheckpointError,
    MODNet,
    check_checkpoint_file,
    check_model_weight_file,
    load_checkpoint,
)
from modnet.network.checkpoint_file import (
    MODNET_LAYOUT_DIGEST,
    MODNET_TENSOR_COUNT,
    layout_digest,
    read_layout,
)


@pytest.fixture(scope="module")
def official_state() -> dict[str, torch.Tensor]:
    return torch.load(CHECKPOINT, weights_only=True)


def test_recorded_layout_is_the_networks() -> None:
    state = MODNet().state_dict()

    assert layout_digest({k: tuple(v.shape) for k, v in state.items()}) == MODNET_LAYOUT_DIGEST
    assert len(state) == MODNET_TENSOR_COUNT


def test_layout_of_the_official_file_is_read_without_its_data() -> None:
    layout = read_layout(CHECKPOINT)

    assert layout["backbone.features.0.0.weight"] == (32, 3, 3, 3)
    assert layout_digest(layout) == MODNET_LAYOUT_DIGEST
    assert check_checkpoint_file(CHECKPOINT) == CHECKPOINT


@pytest.mark.parametrize("variant", ["legacy format", "wrapped", "without module prefix"])
def test_accepted_variants(variant: str, official_state, tmp_path: Path) -> None:
    path = tmp_path / "variant.ckpt"
    if variant == "legacy format":
        torch.save(official_state, path, _use_new_zipfile_serialization=False)
    elif variant == "wrapped":
        torch.save({"state_dict": official_state, "epoch": 40}, path)
    else:
        torch.save({k.removeprefix("module."): v for k, v in official_state.items()}, path)

    assert check_checkpoint_file(path) == path


def foreign_network(path: Path, official_state) -> None:
    state = dict(official_state)
    key = "module.f_branch.conv_f.1.layers.0.weight"
    state[key] = torch.zeros(2, *state[key].shape[1:])  # two output channels
    torch.save(state, path)


def missing_layer(path: Path, official_state) -> None:
    torch.save({k: v for k, v in official_state.items() if "hr_branch" not in k}, path)


BAD_FILES = {
    "empty": lambda path, _: path.write_bytes(b""),
    "text": lambda path, _: path.write_text("MODNet weights\n" * 100),
    "random bytes": lambda path, _: path.write_bytes(random.Random(0).randbytes(100_000)),
    "truncated": lambda path, _: path.write_bytes(CHECKPOINT.read_bytes()[:1000]),
    "a tensor": lambda path, _: torch.save(torch.zeros(3), path),
    "another shape": foreign_network,
    "missing layers": missing_layer,
}


@pytest.mark.parametrize("kind", BAD_FILES)
def test_other_files_are_refused_by_name(kind: str, official_state, tmp_path: Path) -> None:
    path = tmp_path / "bad.ckpt"
    BAD_FILES[kind](path, official_state)

    with pytest.raises(CheckpointError) as raised:
        check_checkpoint_file(path)

    assert str(raised.value).startswith(f"{path}: not a")


class _Payload:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_pickled_code_is_never_run(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    path = tmp_path / "hostile.ckpt"
    path.write_bytes(pickle.dumps({"weight": _Payload(marker)}, protocol=2))

    with pytest.raises(CheckpointError):
        check_checkpoint_file(path)

    assert not marker.exists()


def test_check_does_not_import_torch() -> None:
    code = (
        "import sys; sys.modules['torch'] = None\n"
        "from modnet import check_checkpoint_file\n"
        f"print(check_checkpoint_file({str(CHECKPOINT)!r}))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(CHECKPOINT)


def test_model_weight_file_errors_name_the_parameter(tmp_path: Path) -> None:
    text = tmp_path / "notes.ckpt"
    text.write_text("not weights")

    with pytest.raises(CheckpointError, match=r"^model_weight_file: .*notes\.ckpt: not a"):
        check_model_weight_file(text)
    with pytest.raises(FileNotFoundError, match=r"^model_weight_file: no file"):
        check_model_weight_file(tmp_path / "missing.ckpt")


def test_a_checkpoint_with_damaged_bytes_is_refused_naming_the_member(
    checkpoint: Path, tmp_path: Path
) -> None:
    damaged, member = damaged_copy(checkpoint, tmp_path)
    # Its index is intact: only the checksums tell.
    assert layout_digest(read_layout(damaged)) == MODNET_LAYOUT_DIGEST
    message = f"{damaged}: damaged: the bytes of '{member}' do not match their CRC-32"

    with pytest.raises(CheckpointError, match=re.escape(message)):
        check_checkpoint_file(damaged)
    with pytest.raises(CheckpointError, match=re.escape(message)):
        load_checkpoint(damaged)


def test_checksums_are_verified_again_once_the_file_changes(
    checkpoint: Path, tmp_path: Path
) -> None:
    copy = tmp_path / "copy.ckpt"
    shutil.copyfile(checkpoint, copy)
    assert check_checkpoint_file(copy) == copy
    damaged, _ = damaged_copy(checkpoint, tmp_path)
    stat = copy.stat()
    time.sleep(0.02)  # file times advance by clock ticks: the change time must differ
    copy.write_bytes(damaged.read_bytes())
    os.utime(copy, ns=(stat.st_atime_ns, stat.st_mtime_ns))

    with pytest.raises(CheckpointError, match="do not match their CRC-32"):
        check_checkpoint_file(copy)
