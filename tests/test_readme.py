"""The README's Python examples run as written (from the repository root, offline)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import CHECKPOINT, REPO
from plugin_env import install_plugin

BLOCKS = re.findall(r"```python\n(.*?)```", (REPO / "README.md").read_text(), re.DOTALL)


@pytest.fixture(scope="module")
def readme_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    home = tmp_path_factory.mktemp("readme-home")
    install_plugin(home)
    # The examples use the default weights: the plugin's weights/ folder, as after setup.sh.
    weights = REPO / "weights" / CHECKPOINT.name
    if not weights.exists():
        weights.parent.mkdir(exist_ok=True)
        shutil.copy(CHECKPOINT, weights)
    return {
        **os.environ,
        "HOME": str(home),
        "IKOMIA_AUTO_COMPLETION": "0",
        "MPLBACKEND": "Agg",
        "PYTHONPATH": str(REPO),
    }


def test_readme_has_examples() -> None:
    assert len(BLOCKS) >= 4


@pytest.mark.parametrize("code", BLOCKS, ids=[f"block{i}" for i in range(len(BLOCKS))])
def test_readme_example_runs(code: str, readme_env: dict[str, str], tmp_path: Path) -> None:
    (tmp_path / "samples").symlink_to(REPO / "samples")
    (tmp_path / "weights").symlink_to(REPO / "weights")
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        env=readme_env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
