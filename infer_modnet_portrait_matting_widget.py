"""Ikomia Studio widget: one control per parameter of :data:`parameters.PARAMETERS`."""

from __future__ import annotations

from ikomia import core, dataprocess
from ikomia.utils import pyqtutils, qtconversion
from PyQt6.QtWidgets import QGridLayout, QLabel, QWidget

from infer_modnet_portrait_matting.infer_modnet_portrait_matting_process import (
    InferModnetPortraitMattingParam,
)
from infer_modnet_portrait_matting.parameter_types import (
    Check,
    Combo,
    DoubleSpin,
    FileBrowse,
    LineEdit,
    Spin,
)
from infer_modnet_portrait_matting.parameters import PARAMETERS, Parameter


def snap(value: int, control: Spin) -> int:
    """``value`` rounded to the nearest multiple of the spin box's step within its range: a step
    does not stop the user typing e.g. 500, so round instead of rejecting."""
    steps = max(1, round(value / control.step))
    return min(steps * control.step, control.maximum)


class ParameterControl:
    """The Qt control of one parameter: built from its table entry, read back as a string."""

    def __init__(self, grid: QGridLayout, parameter: Parameter, value: object) -> None:
        self.parameter = parameter
        control = parameter.control
        label = parameter.label
        if isinstance(control, Spin):
            self.widget = pyqtutils.append_spin(
                grid, label, value, min=control.minimum, max=control.maximum, step=control.step
            )
            if control.snap:
                self.widget.editingFinished.connect(self._snap)
        elif isinstance(control, DoubleSpin):
            self.widget = pyqtutils.append_double_spin(
                grid,
                label,
                value,
                min=control.minimum,
                max=control.maximum,
                step=control.step,
                decimals=control.decimals,
            )
        elif isinstance(control, Check):
            available = control.available is None or control.available()
            self.widget = pyqtutils.append_check(grid, label, bool(value) and available)
            self.widget.setEnabled(available)
        elif isinstance(control, Combo):
            self.widget = pyqtutils.append_combo(grid, label)
            self.widget.addItems(control.choices)
            self.widget.setCurrentText(str(value))
        elif isinstance(control, FileBrowse):
            self.widget = pyqtutils.append_browse_file(
                grid, label, str(value), file_filter=control.file_filter, tooltip=parameter.tooltip
            )
        elif isinstance(control, LineEdit):
            self.widget = pyqtutils.append_edit(grid, label, str(value))
        else:
            raise TypeError(f"{parameter.name}: no widget for {control!r}")
        tooltip = parameter.tooltip
        if isinstance(control, Check) and not self.widget.isEnabled():
            tooltip = control.unavailable_tooltip
        self.widget.setToolTip(tooltip)

    def _snap(self) -> None:
        self.widget.setValue(snap(self.widget.value(), self.parameter.control))

    def text(self) -> str:
        """The value shown, as the string ``set_values`` parses."""
        control = self.parameter.control
        if isinstance(control, Spin):
            if control.snap:
                self._snap()
            return str(self.widget.value())
        if isinstance(control, DoubleSpin):
            return str(self.widget.value())
        if isinstance(control, Check):
            return str(self.widget.isChecked())
        if isinstance(control, Combo):
            return self.widget.currentText()
        if isinstance(control, FileBrowse):
            # The line edit, not BrowseFileWidget.path, which follows typing only on
            # editingFinished.
            return self.widget.qedit_file.text().strip()
        return self.widget.text().strip()


class InferModnetPortraitMattingWidget(core.CWorkflowTaskWidget):
    def __init__(
        self, param: InferModnetPortraitMattingParam | None, parent: QWidget | None
    ) -> None:
        core.CWorkflowTaskWidget.__init__(self, parent)
        self.parameters = InferModnetPortraitMattingParam() if param is None else param
        self.grid_layout = QGridLayout()
        self.controls = {
            parameter.name: ParameterControl(
                self.grid_layout, parameter, getattr(self.parameters, parameter.name)
            )
            for parameter in PARAMETERS
        }
        # set_values refuses e.g. a weight file that does not exist; say why here.
        self.label_error = QLabel()
        self.label_error.setWordWrap(True)
        self.label_error.setStyleSheet("color: #d04040")
        self.label_error.hide()
        self.grid_layout.addWidget(self.label_error, self.grid_layout.rowCount(), 0, 1, 2)
        self.set_layout(qtconversion.PyQtToQt(self.grid_layout))

    def on_apply(self) -> None:
        try:
            self.parameters.set_values(
                {name: control.text() for name, control in self.controls.items()}
            )
        except ValueError as error:
            self.label_error.setText(str(error))
            self.label_error.show()
            return
        self.label_error.hide()
        self.emit_apply(self.parameters)


class InferModnetPortraitMattingWidgetFactory(dataprocess.CWidgetFactory):
    def __init__(self) -> None:
        dataprocess.CWidgetFactory.__init__(self)
        self.name = "infer_modnet_portrait_matting"

    def create(
        self, param: InferModnetPortraitMattingParam | None
    ) -> InferModnetPortraitMattingWidget:
        return InferModnetPortraitMattingWidget(param, None)
