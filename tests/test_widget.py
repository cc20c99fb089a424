"""The Studio widget, driven headless in a subprocess so that a Qt abort cannot kill pytest."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO, SAMPLE
from modnet import INPUT_SIZE_MAX
from plugin_env import TASK_NAME as PLUGIN
from plugin_env import install_plugin

BACKGROUND = REPO / "images" / "background_image.jpg"  # any picture but the sample

RESULT_PREFIX = "WIDGET_RESULT "

# Builds the widget through the plugin entry, edits its controls as a user would (a file path is
# typed, not browsed, so no editingFinished), applies, and prints what came out as JSON.
DRIVER = """
import json, sys
from pathlib import Path

sys.path.insert(0, str(Path.home() / "Ikomia" / "Plugins" / "Python"))
from PyQt6.QtWidgets import QApplication, QCheckBox, QComboBox, QDoubleSpinBox, QLineEdit, QSpinBox

app = QApplication([])
import torch
from ikomia.utils.pyqtutils import BrowseFileWidget
from infer_modnet_portrait_matting.infer_modnet_portrait_matting import IkomiaPlugin
from infer_modnet_portrait_matting.infer_modnet_portrait_matting_process import (
    InferModnetPortraitMattingParam,
)


def shown(widget):
    if isinstance(widget, (QSpinBox, QDoubleSpinBox)):
        return widget.value()
    if isinstance(widget, QCheckBox):
        return widget.isChecked()
    if isinstance(widget, QComboBox):
        return widget.currentText()
    if isinstance(widget, BrowseFileWidget):
        return widget.qedit_file.text()
    return widget.text()


def edit(widget, value):
    if isinstance(widget, (QSpinBox, QDoubleSpinBox)):
        widget.setValue(value)
    elif isinstance(widget, QCheckBox):
        widget.setChecked(value)
    elif isinstance(widget, QComboBox):
        assert widget.findText(value) >= 0, f"{value} is not offered"
        widget.setCurrentText(value)
    elif isinstance(widget, BrowseFileWidget):
        widget.qedit_file.setText(value)
    else:
        widget.setText(value)


initial, edits = json.loads(sys.argv[1]), json.loads(sys.argv[2])
param = InferModnetPortraitMattingParam()
param.set_values(initial)
factory = IkomiaPlugin().get_widget_factory()
widget = factory.create(param)
controls = {name: control.widget for name, control in widget.controls.items()}
before = {name: shown(control) for name, control in controls.items()}
input_size_max = controls["input_size"].maximum()
applied = []
widget.emit_apply = applied.append
for name, value in edits.items():
    edit(controls[name], value)
widget.on_apply()
result = {
    "factory_name": factory.name,
    "cuda_available": torch.cuda.is_available(),
    "cuda_enabled": controls["cuda"].isEnabled(),
    "shown": before,
    "input_size_max": input_size_max,
    "after_apply": {name: shown(control) for name, control in controls.items()},
    "applied": [p.get_values() for p in applied],
    "applied_is_param": [p is param for p in applied],
    "param": param.get_values(),
    "error": None if widget.label_error.isHidden() else widget.label_error.text(),
}
print("WIDGET_RESULT " + json.dumps(result))
"""


def run_widget(tmp_path: Path, initial: dict[str, str], edits: dict[str, object]) -> dict:
    home = tmp_path / "home"
    install_plugin(home)
    env = {
        **os.environ,
        "HOME": str(home),
        "IKOMIA_AUTO_COMPLETION": "0",
        "QT_QPA_PLATFORM": "offscreen",
        "XDG_RUNTIME_DIR": str(tmp_path / "runtime"),
    }
    completed = subprocess.run(
        [sys.executable, "-c", DRIVER, json.dumps(initial), json.dumps(edits)],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    lines = [line for line in completed.stdout.splitlines() if line.startswith(RESULT_PREFIX)]
    assert len(lines) == 1, completed.stdout + completed.stderr
    return json.loads(lines[0].removeprefix(RESULT_PREFIX))


@pytest.fixture
def weight_files(tmp_path: Path, checkpoint: Path) -> tuple[Path, Path]:
    # set_values reads the files' layout; the widget never loads them.
    first, second = tmp_path / "first.ckpt", tmp_path / "second.ckpt"
    first.symlink_to(checkpoint)
    second.symlink_to(checkpoint)
    return first, second


@pytest.fixture
def initial(weight_files: tuple[Path, Path]) -> dict[str, str]:
    # Not the defaults (512, 0.5, empty), so that the controls must really show the param.
    return {
        "input_size": "640",
        "quality": "high",
        "cuda": "True",
        "model_weight_file": str(weight_files[0]),
        "threshold": "0.75",
        "backend": "torch",
        "precision": "fp32",
        "foreground": "raw",
        "background": "blur",
        "background_color": "10,20,30",
        "blur_strength": "2.5",
        "background_image": str(SAMPLE),
        "temporal": "ofd",
    }


def test_controls_show_param_and_apply_writes_it(
    tmp_path: Path, weight_files: tuple[Path, Path], initial: dict[str, str]
) -> None:
    edits = {
        "input_size": 320,
        "quality": "fast",
        "threshold": 0.3,
        "model_weight_file": str(weight_files[1]),
        "backend": "onnxruntime",
        "precision": "auto",
        "foreground": "estimated",
        "background": "image",
        "background_color": " 40, 110,220",
        "blur_strength": 4.0,
        "background_image": str(BACKGROUND),
        "temporal": "stable",
    }
    result = run_widget(tmp_path, initial, edits)

    assert result["factory_name"] == PLUGIN
    cuda = result["cuda_available"]
    assert result["cuda_enabled"] == cuda
    assert result["shown"] == {
        "input_size": 640,
        "quality": "high",
        "cuda": cuda,
        "model_weight_file": str(weight_files[0]),
        "threshold": 0.75,
        "backend": "torch",
        "precision": "fp32",
        "foreground": "raw",
        "background": "blur",
        "background_color": "10,20,30",
        "blur_strength": 2.5,
        "background_image": str(SAMPLE),
        "temporal": "ofd",
    }
    expected = {
        "input_size": "320",
        "quality": "fast",
        "cuda": str(cuda),
        "model_weight_file": str(weight_files[1]),
        "threshold": "0.3",
        "backend": "onnxruntime",
        "precision": "auto",
        "foreground": "estimated",
        "background": "image",
        "background_color": "40,110,220",
        "blur_strength": "4.0",
        "background_image": str(BACKGROUND),
        "temporal": "stable",
    }
    assert result["error"] is None
    assert result["applied"] == [expected]
    assert result["applied_is_param"] == [True]
    assert result["param"] == expected


def test_input_size_rounds_to_multiple_of_32(tmp_path: Path, initial: dict[str, str]) -> None:
    edits = {"input_size": 500, "threshold": 0.75, "model_weight_file": ""}
    result = run_widget(tmp_path, initial, edits)

    assert result["input_size_max"] == INPUT_SIZE_MAX
    assert result["error"] is None
    assert result["after_apply"]["input_size"] == 512
    assert [values["input_size"] for values in result["applied"]] == ["512"]
    assert result["param"]["model_weight_file"] == ""


def test_missing_weight_file_is_reported_not_applied(
    tmp_path: Path, initial: dict[str, str]
) -> None:
    missing = tmp_path / "missing.ckpt"
    edits = {"input_size": 320, "threshold": 0.3, "model_weight_file": str(missing)}
    result = run_widget(tmp_path, initial, edits)

    assert result["applied"] == []
    assert "model_weight_file" in result["error"]
    assert str(missing) in result["error"]
    # set_values validates everything first, so the other edits are not half-applied either.
    assert result["param"]["input_size"] == "640"
    assert result["param"]["threshold"] == "0.75"
    assert result["param"]["model_weight_file"] == initial["model_weight_file"]


@pytest.mark.parametrize(
    ("background", "name", "value", "message"),
    [
        ("color", "background_color", "40,110", "background_color: expected three integers"),
        ("image", "background_image", "/no/such/background.png", "background_image: no file at"),
        ("image", "background_image", "", "background_image: required when background"),
    ],
)
def test_bad_background_value_is_reported_not_applied(
    tmp_path: Path, initial: dict[str, str], background: str, name: str, value: str, message: str
) -> None:
    result = run_widget(tmp_path, initial, {"background": background, name: value})

    assert result["applied"] == []
    assert message in result["error"]
    assert result["param"]["background"] == "blur"
    assert result["param"][name] == initial[name]
