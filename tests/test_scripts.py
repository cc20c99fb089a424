"""The scripts users run by hand report failures as failures."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from conftest import CHECKPOINT, REPO


@pytest.mark.parametrize("blocked", ["matte file", "output folder"])
def test_run_sample_fails_when_the_matte_cannot_be_written(tmp_path: Path, blocked: str) -> None:
    output = tmp_path / "out"
    if blocked == "matte file":
        (output / "matte.png").mkdir(parents=True)  # a folder where the file should go
        message = f"cannot write {output / 'matte.png'}"
    else:
        tmp_path.joinpath("file").write_text("")  # a file where a folder should go
        output = tmp_path / "file" / "out"
        message = f"cannot write into {output}"
    script = REPO / "scripts" / "tools" / "run_sample.py"
    options = ["--output-dir", str(output), "--model-weight-file", str(CHECKPOINT)]

    done = subprocess.run(
        [sys.executable, str(script), *options],
        capture_output=True,
        text=True,
        env={
            **os.environ,
            "HOME": str(tmp_path / "home"),
            "IKOMIA_AUTO_COMPLETION": "0",
        },
        timeout=300,
    )

    assert done.returncode != 0
    assert message in done.stderr and "Traceback" not in done.stderr
    assert "wrote" not in done.stdout


def test_cpu_distance_benchmark_prints_a_row_per_round(tmp_path: Path) -> None:
    script = REPO / "scripts" / "benchmarks" / "benchmark_cpu_distance.py"
    shared = CHECKPOINT.parents[1]

    done = subprocess.run(
        [sys.executable, str(script), "--shared", str(shared), "--rounds", "2", "--calls", "1"],
        capture_output=True,
        text=True,
        env={**os.environ, "TMPDIR": str(tmp_path)},
        timeout=600,
    )

    assert done.returncode == 0, done.stderr
    rows = [line for line in done.stdout.splitlines() if line.startswith(("| 1 |", "| 2 |"))]
    assert len(rows) == 2
    assert not list(tmp_path.glob("modnet-cpu-distance-*"))  # nor its scratch folder
    for row in rows:
        cells = [cell.strip() for cell in row.strip("|").split("|")]
        before, after = (float(ns) for ns in cells[1].split(", "))
        assert before > 0 and after > 0
        assert all(float(ms) > 0 for ms in cells[3:])


def test_gpu_benchmark_says_plainly_that_it_needs_cuda() -> None:
    # This machine has no CUDA GPU (as CI): the benchmark must say so rather than fail.
    assert not torch.cuda.is_available()
    script = REPO / "scripts" / "benchmarks" / "benchmark_gpu.py"

    done = subprocess.run(
        [sys.executable, str(script), "--shared", str(CHECKPOINT.parents[1])],
        capture_output=True,
        text=True,
        timeout=300,
    )

    assert done.returncode == 2
    assert "needs CUDA" in done.stderr and "Traceback" not in done.stderr
    assert done.stdout == ""


def test_network_benchmark_runs_without_ikomia(tmp_path: Path) -> None:
    # The network's benchmark needs only the core: it must run where Ikomia was never imported.
    script = REPO / "scripts" / "benchmarks" / "benchmark_network.py"
    shared = CHECKPOINT.parents[1]

    done = subprocess.run(
        [sys.executable, str(script), "--shared", str(shared), "--repeats", "1"],
        capture_output=True,
        text=True,
        env={**os.environ, "TMPDIR": str(tmp_path), "HOME": str(tmp_path / "home")},
        timeout=600,
    )

    assert done.returncode == 0, done.stderr[-3000:]
    assert "| onnxruntime | fp32 |" in done.stdout
    assert not list(tmp_path.glob("modnet-bench-*"))  # its temporary HOME went with it
