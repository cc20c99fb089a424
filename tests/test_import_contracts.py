"""The import contracts of pyproject.toml hold, and a broken one fails `lint-imports`."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    """`lint-imports` on the `modnet` package and the contracts of `root`, which has both."""
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"],
        cwd=root,
        env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def copy_of_core(tmp_path: Path) -> Path:
    shutil.copy(REPO / "pyproject.toml", tmp_path)
    shutil.copytree(REPO / "modnet", tmp_path / "modnet", ignore=shutil.ignore_patterns("*.pyc"))
    return tmp_path


def test_the_contracts_hold() -> None:
    result = lint_imports(REPO)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize(
    ("module", "line", "contract"),
    [
        (
            "network/model.py",
            "from ..pipeline import session",
            "The stages are layered",
        ),
        ("runtime/export.py", "from . import factory", "Runtimes: factory"),
        ("image.py", "import torch", "Only the network and the PyTorch runner import PyTorch"),
        ("edit/compositing.py", "import ikomia", "The core knows nothing of Ikomia"),
        ("video/temporal.py", "from . import stream", "No import cycles"),
    ],
)
def test_a_broken_contract_fails_the_run(
    copy_of_core: Path, module: str, line: str, contract: str
) -> None:
    path = copy_of_core / "modnet" / module
    path.write_text(path.read_text() + f"\n{line}  # broken on purpose\n")
    result = lint_imports(copy_of_core)
    assert result.returncode != 0
    # The report folds long contract names over lines: read it as one line.
    report = " ".join(result.stdout.split())
    verdict = re.search(re.escape(contract) + r".*? (KEPT|BROKEN)", report)
    assert verdict and verdict.group(1) == "BROKEN", result.stdout
