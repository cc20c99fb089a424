"""A batch run killed with SIGKILL and resumed writes the same bytes as an uninterrupted run,
with every photo done exactly once in the manifest and no partial file left."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from batch_support import INPUT_SIZE, cache_dir, photo_tree, quick_options, tree_bytes
from conftest import CHECKPOINT, REPO
from modnet.batch import read_manifest, run_batch

PHOTOS = 12


def command(source: Path, output: Path, cache: Path) -> list[str]:
    return [
        sys.executable, "-m", "modnet.batch", str(source), str(output),
        "--model-weight-file", str(CHECKPOINT), "--backend", "onnxruntime",
        "--precision", "fp32", "--cache-dir", str(cache), "--input-size", str(INPUT_SIZE),
        "--background", "color", "--threads", "1", "--no-progress",
    ]  # fmt: skip


def kill_after_records(process: subprocess.Popen, manifest: Path, records: int) -> int:
    """SIGKILLs ``process`` once ``manifest`` has ``records`` lines; returns how many it had."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        if manifest.is_file() and manifest.read_bytes().count(b"\n") >= records:
            process.send_signal(signal.SIGKILL)
            process.wait()
            return manifest.read_bytes().count(b"\n")
        time.sleep(0.005)
    raise AssertionError(f"the run ended or stalled before {records} photos were recorded")


def test_killed_run_resumes_to_the_same_bytes(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory, sample_rgb: np.ndarray
) -> None:
    cache = cache_dir(tmp_path_factory)
    source = tmp_path / "in"
    photo_tree(source, sample_rgb, PHOTOS)
    reference = run_batch(source, tmp_path / "whole", quick_options(cache), progress=False)
    assert reference["done"] == PHOTOS
    output = tmp_path / "killed"

    process = subprocess.Popen(command(source, output, cache), cwd=REPO, stdout=subprocess.DEVNULL)
    recorded = kill_after_records(process, output / "manifest.jsonl", 3)

    assert process.returncode == -signal.SIGKILL
    assert 3 <= recorded < PHOTOS, "killed too late to test anything"
    for path in output.rglob("*"):  # whatever is there under its name is whole
        if path.is_file() and path.suffix in (".png", ".jpg") and not path.name.startswith("."):
            Image.open(path).load()
    resumed = subprocess.run(command(source, output, cache), cwd=REPO, capture_output=True)
    assert resumed.returncode == 0, resumed.stderr.decode()[-2000:]

    summary = json.loads(resumed.stdout)
    assert summary["skipped"] >= recorded - 1  # the last record may have been cut by the kill
    assert summary["skipped"] + summary["done"] == PHOTOS
    assert tree_bytes(output) == tree_bytes(tmp_path / "whole")
    lines = [json.loads(line) for line in (output / "manifest.jsonl").read_text().splitlines()]
    assert sorted(record["path"] for record in lines) == sorted(
        read_manifest(output / "manifest.jsonl")
    )
    assert len(lines) == PHOTOS and all(record["status"] == "done" for record in lines)
    assert not [path for path in output.rglob("*.part")]
