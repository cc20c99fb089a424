"""Installs this checkout as an Ikomia plugin and imports Ikomia without touching the network."""

from __future__ import annotations

import atexit
import os
import shutil
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
TASK_NAME = "infer_modnet_portrait_matting"


def temporary_folder(prefix: str) -> Path:
    """A new folder in the temporary directory (a benchmark's Ikomia HOME, scratch files),
    removed with what it holds when the process exits."""
    folder = Path(tempfile.mkdtemp(prefix=prefix))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return folder


def install_plugin(home: Path) -> Path:
    """Links the checkout to ``home/Ikomia/Plugins/Python/<task>``, where Ikomia looks for it."""
    link = home / "Ikomia" / "Plugins" / "Python" / TASK_NAME
    link.parent.mkdir(parents=True, exist_ok=True)
    if link.is_symlink() and link.resolve() != REPO:
        link.unlink()
    if not link.exists():
        link.symlink_to(REPO, target_is_directory=True)
    elif link.resolve() != REPO:
        raise FileExistsError(f"{link} exists and is not this checkout: move it away first")
    return link


def add_plugin_package(home: Path) -> None:
    """Makes the checkout importable as the ``infer_modnet_portrait_matting`` package, as Ikomia
    imports it, without importing Ikomia (for the scripts that need only the core)."""
    folder = str(install_plugin(home).parent)
    if folder not in sys.path:
        sys.path.insert(0, folder)


def import_workflow(home: Path | None = None):
    """Ikomia's ``Workflow`` class, with the plugin installed under ``home`` (default: $HOME).

    HOME must be set before ikomia's first import, and auto-completion off: otherwise the
    import writes into site-packages and queries the HUB.
    """
    home = Path(home or Path.home())
    install_plugin(home)
    os.environ["HOME"] = str(home)
    os.environ["IKOMIA_AUTO_COMPLETION"] = "0"
    from ikomia.dataprocess.workflow import Workflow

    return Workflow


def add_recorded_task(workflow, after_run: Callable[[object], None]):
    """Adds the plugin's task to ``workflow``, connected to its input, such that
    ``after_run(task)`` is called after each of its runs: after each frame of a video, whose
    outputs the workflow keeps for the last frame only."""
    from infer_modnet_portrait_matting.infer_modnet_portrait_matting_process import (
        InferModnetPortraitMatting,
    )

    class RecordedTask(InferModnetPortraitMatting):
        def run(self) -> None:
            super().run()
            after_run(self)

    task = RecordedTask(TASK_NAME, None)
    workflow.add_task(task=task, auto_connect=True)
    return task
