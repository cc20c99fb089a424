"""Ikomia task: turns Ikomia inputs and string parameters into calls of :mod:`modnet`."""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from ikomia import core, dataprocess, utils

from infer_modnet_portrait_matting.modnet import (
    DEFAULT_INPUT_SIZE,
    DEFAULT_THRESHOLD,
    MattingSession,
    check_backend,
    check_input_size,
    check_model_weight_file,
    check_threshold,
    cuda_available,
    resolve_weights,
    select_device,
)

WEIGHTS_FOLDER = Path(__file__).resolve().parent / "weights"
CLASS_NAMES = ["background", "person"]
CLASS_COLORS = [[0, 0, 0], [255, 64, 128]]
T = TypeVar("T")


def _parse(name: str, text: str, convert: Callable[[str], T], expected: str) -> T:
    try:
        return convert(text)
    except ValueError:
        raise ValueError(f"{name}: expected {expected}, got '{text}'") from None


def _strtobool(text: str) -> bool:
    return bool(utils.strtobool(text))


class InferModnetPortraitMattingParam(core.CWorkflowTaskParam):
    """Parameters; Ikomia passes them as strings, validated here on the way in."""

    def __init__(self) -> None:
        core.CWorkflowTaskParam.__init__(self)
        self.input_size = DEFAULT_INPUT_SIZE
        self.cuda = cuda_available()
        self.model_weight_file = ""
        self.threshold = DEFAULT_THRESHOLD
        self.backend = "auto"

    def set_values(self, params: dict[str, str]) -> None:
        # Ikomia may pass only the values that changed; validate all before assigning any.
        get = params.get
        input_size = check_input_size(
            _parse("input_size", get("input_size", str(self.input_size)), int, "an integer")
        )
        cuda = _parse("cuda", get("cuda", str(self.cuda)), _strtobool, "True or False")
        threshold = check_threshold(
            _parse("threshold", get("threshold", str(self.threshold)), float, "a number")
        )
        backend = check_backend(get("backend", self.backend))
        weight_file = get("model_weight_file", self.model_weight_file).strip()
        if weight_file:
            try:
                check_model_weight_file(weight_file)
            except FileNotFoundError as error:
                # Ikomia and the widget report a bad parameter value as a ValueError.
                raise ValueError(str(error)) from None
        self.input_size, self.cuda = input_size, cuda
        self.threshold, self.model_weight_file = threshold, weight_file
        self.backend = backend

    def get_values(self) -> dict[str, str]:
        return {
            "input_size": str(self.input_size),
            "cuda": str(self.cuda),
            "model_weight_file": self.model_weight_file,
            "threshold": str(self.threshold),
            "backend": self.backend,
        }


class InferModnetPortraitMatting(dataprocess.C2dImageTask):
    """Outputs: 0 the input image, 1 the matte, 2 the RGBA cutout, 3 person/background mask."""

    def __init__(self, name: str, param: InferModnetPortraitMattingParam | None) -> None:
        dataprocess.C2dImageTask.__init__(self, name)
        self.add_output(dataprocess.CImageIO())
        self.add_output(dataprocess.CImageIO())
        self.add_output(dataprocess.CSemanticSegmentationIO())
        self.set_param_object(
            InferModnetPortraitMattingParam() if param is None else copy.deepcopy(param)
        )
        self._session: MattingSession | None = None
        self._session_key: tuple[str, bool, str] | None = None
        # Seconds spent in each stage of the last run, for benchmarks and profiling.
        self.timings: dict[str, float] = {}

    def get_progress_steps(self) -> int:
        return 1

    def _get_session(self, param: InferModnetPortraitMattingParam) -> MattingSession:
        # Only the weights, the device and the backend require reloading the network.
        key = (param.model_weight_file, param.cuda, param.backend)
        if self._session is None or key != self._session_key:
            weights = resolve_weights(
                param.model_weight_file, WEIGHTS_FOLDER, utils.get_model_hub_url()
            )
            self._session = MattingSession(
                weights, select_device(param.cuda), param.backend, cache_dir=WEIGHTS_FOLDER
            )
            self._session_key = key
        return self._session

    def run(self) -> None:
        self.begin_task_run()
        param = self.get_param_object()
        image_input = self.get_input(0)
        if not image_input.is_data_available():
            raise ValueError("input 0: no image to matte")
        session = self._get_session(param)
        timings: dict[str, float] = {}
        result = session.predict(image_input.get_image(), param.input_size, timings)

        start = time.perf_counter()
        self.forward_input_image(0, 0)
        self.get_output(1).set_image(result.matte)
        self.get_output(2).set_image(result.cutout())
        segmentation = self.get_output(3)
        segmentation.set_class_names(CLASS_NAMES)
        segmentation.set_class_colors(CLASS_COLORS)
        segmentation.set_mask(result.mask(param.threshold))
        timings["outputs"] = time.perf_counter() - start
        self.timings = timings

        self.emit_step_progress()
        self.end_task_run()


class InferModnetPortraitMattingFactory(dataprocess.CTaskFactory):
    def __init__(self) -> None:
        dataprocess.CTaskFactory.__init__(self)
        info = self.info
        info.name = "infer_modnet_portrait_matting"
        info.short_description = (
            "Trimap-free portrait matting with MODNet: alpha matte, transparent cutout and "
            "person mask from a single photo or video frame."
        )
        info.path = "Plugins/Python/Background"
        info.version = "2.0.0"
        info.min_ikomia_version = "0.15.0"
        info.min_python_version = "3.10.0"
        info.icon_path = "icons/icon.png"
        info.authors = "Zhanghan Ke, Jiayu Sun, Kaican Li, Qiong Yan, Rynson W.H. Lau"
        info.article = "MODNet: Real-Time Trimap-Free Portrait Matting via Objective Decomposition"
        info.journal = "AAAI"
        info.year = 2022
        info.license = "Apache License 2.0"
        info.article_url = "https://arxiv.org/abs/2011.11961"
        info.documentation_link = "https://arxiv.org/pdf/2011.11961.pdf"
        info.repository = "https://github.com/Ikomia-hub/infer_modnet_portrait_matting"
        info.original_repository = "https://github.com/ZHKKKe/MODNet"
        info.keywords = "portrait,matting,alpha matte,background removal,trimap-free,MODNet,PyTorch"
        info.algo_type = core.AlgoType.INFER
        info.algo_tasks = "IMAGE_MATTING"
        info.hardware_config.min_cpu = 2
        info.hardware_config.min_ram = 4
        info.hardware_config.gpu_required = False
        info.hardware_config.min_vram = 2

    def create(self, param: InferModnetPortraitMattingParam | None = None):
        return InferModnetPortraitMatting(self.info.name, param)
