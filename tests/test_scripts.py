"""The scripts users run by hand report failures as failures."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from conftest import CHECKPOINT, REPO


def test_run_sample_fails_when_the_matte_cannot_be_written(tmp_path: Path) -> None:
    output = tmp_path / "out"
    (output / "matte.png").mkdir(parents=True)  # a folder where the file should go
    script = REPO / "scripts" / "run_sample.py"
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
    assert f"cannot write {output / 'matte.png'}" in done.stderr
    assert "wrote" not in done.stdout
