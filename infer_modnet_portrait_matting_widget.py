"""Ikomia Studio widget: edits the parameters of infer_modnet_portrait_matting."""

from __future__ import annotations

from ikomia import core, dataprocess
from ikomia.utils import pyqtutils, qtconversion
from PyQt6.QtWidgets import QGridLayout, QLabel, QWidget

from infer_modnet_portrait_matting.infer_modnet_portrait_matting_process import (
    InferModnetPortraitMattingParam,
)
from infer_modnet_portrait_matting.modnet import BACKENDS, cuda_available

INPUT_SIZE_STEP = 32
INPUT_SIZE_MAX = 4096


def _nearest_input_size(value: int) -> int:
    # A spin box step does not stop the user typing e.g. 500; round instead of rejecting.
    steps = max(1, round(value / INPUT_SIZE_STEP))
    return min(steps * INPUT_SIZE_STEP, INPUT_SIZE_MAX)


class InferModnetPortraitMattingWidget(core.CWorkflowTaskWidget):
    def __init__(
        self, param: InferModnetPortraitMattingParam | None, parent: QWidget | None
    ) -> None:
        core.CWorkflowTaskWidget.__init__(self, parent)
        self.parameters = InferModnetPortraitMattingParam() if param is None else param
        self.grid_layout = QGridLayout()

        self.spin_input_size = pyqtutils.append_spin(
            self.grid_layout,
            "Input size",
            self.parameters.input_size,
            min=INPUT_SIZE_STEP,
            max=INPUT_SIZE_MAX,
            step=INPUT_SIZE_STEP,
        )
        self.spin_input_size.setToolTip(
            "The short side of the image is resized to this value (multiples of 32)"
        )
        self.spin_input_size.editingFinished.connect(self._snap_input_size)

        gpu = cuda_available()
        self.check_cuda = pyqtutils.append_check(
            self.grid_layout, "CUDA", self.parameters.cuda and gpu
        )
        self.check_cuda.setEnabled(gpu)
        if not gpu:
            self.check_cuda.setToolTip("No usable CUDA device: the model runs on the CPU")

        self.combo_backend = pyqtutils.append_combo(self.grid_layout, "Backend")
        self.combo_backend.addItems(BACKENDS)
        self.combo_backend.setCurrentText(self.parameters.backend)
        self.combo_backend.setToolTip(
            "auto: ONNX Runtime on the CPU, PyTorch on a GPU; both give the same matte"
        )

        self.browse_weight_file = pyqtutils.append_browse_file(
            self.grid_layout,
            "Model weight file",
            self.parameters.model_weight_file,
            file_filter="MODNet checkpoint (*.ckpt)",
            tooltip="MODNet .ckpt checkpoint; leave empty to use the default weights",
        )

        self.spin_threshold = pyqtutils.append_double_spin(
            self.grid_layout,
            "Threshold",
            self.parameters.threshold,
            min=0.0,
            max=1.0,
            step=0.05,
            decimals=2,
        )
        self.spin_threshold.setToolTip("Matte value above which a pixel is a person in the mask")

        # set_values rejects e.g. a weight file that does not exist; say why here.
        self.label_error = QLabel()
        self.label_error.setWordWrap(True)
        self.label_error.setStyleSheet("color: #d04040")
        self.label_error.hide()
        self.grid_layout.addWidget(self.label_error, self.grid_layout.rowCount(), 0, 1, 2)

        self.set_layout(qtconversion.PyQtToQt(self.grid_layout))

    def _snap_input_size(self) -> None:
        self.spin_input_size.setValue(_nearest_input_size(self.spin_input_size.value()))

    def on_apply(self) -> None:
        self._snap_input_size()
        # The line edit, not BrowseFileWidget.path: path only follows typing on editingFinished.
        weight_file = self.browse_weight_file.qedit_file.text().strip()
        try:
            self.parameters.set_values(
                {
                    "input_size": str(self.spin_input_size.value()),
                    "cuda": str(self.check_cuda.isChecked()),
                    "model_weight_file": weight_file,
                    "threshold": str(self.spin_threshold.value()),
                    "backend": self.combo_backend.currentText(),
                }
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
