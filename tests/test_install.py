"""What Ikomia installs and declares for the plugin, checked through Ikomia's own code."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from conftest import REPO

TASK = "infer_modnet_portrait_matting"


def test_ikomia_installs_exactly_the_runtime_requirements(ikomia_workflow, monkeypatch) -> None:
    from ikomia.utils import plugintools

    installed: list[str] = []

    def record(command: list[str], **kwargs: object) -> subprocess.CompletedProcess:
        installed.append(Path(command[command.index("-r") + 1]).name)
        return subprocess.CompletedProcess(command, 0)

    monkeypatch.setattr(plugintools.subprocess, "run", record)
    plugintools.install_requirements(str(REPO))

    assert installed == ["requirements1.txt", "requirements2.txt"]


def requirement_lines(name: str) -> list[str]:
    lines = (REPO / name).read_text().splitlines()
    return [line for line in lines if line.strip() and not line.startswith("#")]


def test_runtime_requirements_are_bounded_with_torch_first() -> None:
    first = requirement_lines("requirements1.txt")
    assert [re.split(r"[<>=]", line)[0] for line in first] == ["torch", "torchvision"]
    for name in ("requirements1.txt", "requirements2.txt"):
        for line in requirement_lines(name):
            assert re.fullmatch(r"[A-Za-z0-9_.-]+>=[0-9.]+,<[0-9.]+", line), line


def test_test_tools_stay_out_of_the_runtime_requirements() -> None:
    runtime = requirement_lines("requirements1.txt") + requirement_lines("requirements2.txt")
    for tool in ("pytest", "ruff", "PyQt6"):
        assert not any(line.startswith(tool) for line in runtime)


def test_declared_versions(ikomia_workflow) -> None:
    workflow = ikomia_workflow()
    task = workflow.add_task(name=TASK, public_hub=False)
    from infer_modnet_portrait_matting.infer_modnet_portrait_matting_process import (
        InferModnetPortraitMattingFactory,
    )

    assert task.name == TASK
    info = InferModnetPortraitMattingFactory().info
    assert re.fullmatch(r"\d+\.\d+\.\d+", info.version)
    # PyQt6 widgets load from Ikomia 0.16.0 on; this Ikomia must satisfy the declaration.
    assert info.min_ikomia_version == "0.16.0"
    from ikomia import __version__ as ikomia_version

    assert tuple(map(int, ikomia_version.split(".")[:3])) >= (0, 16, 0)
