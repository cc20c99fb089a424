"""Ikomia task: turns Ikomia inputs and string parameters into calls of :mod:`modnet`."""

from __future__ import annotations

import copy
import time
from collections.abc import Mapping
from pathlib import Path

import numpy as np
from ikomia import core, dataprocess, utils

from infer_modnet_portrait_matting.ikomia_opencv import without_ipp
from infer_modnet_portrait_matting.image_outputs import KeptImageIO, colour_overlay

# The core is imported under the plugin's package name, not as a top-level `modnet`: Ikomia puts
# only its plugins folder on sys.path and imports the plugin as the package
# `infer_modnet_portrait_matting`, so the plugin's own folder is not on the path; adding it would
# let a `modnet` of the user's environment, or of another plugin, shadow this one or be shadowed.
# The tests and scripts run from a checkout whose folder may have any name, so they import the
# same package as `modnet`.
from infer_modnet_portrait_matting.modnet import (
    BackgroundCache,
    FilePosition,
    MatteStream,
    MattingResult,
    MattingSession,
    Outputs,
    OutputSettings,
    StreamFrame,
    make_outputs,
    resolve_weights,
    select_device,
)
from infer_modnet_portrait_matting.parameters import (
    MATTE_SETTINGS,
    default_values,
    format_values,
    parse_values,
)

WEIGHTS_FOLDER = Path(__file__).resolve().parent / "weights"
CLASS_NAMES = ["background", "person"]
CLASS_COLORS = [[0, 0, 0], [255, 64, 128]]
# The parameters of what is made from a matte (see modnet.edit.outputs).
OUTPUT_SETTINGS = ("foreground", "background", "background_color", "blur_strength", "threshold")
# Studio draws the person mask over output 0 in this colour; background pixels stay clear.
OVERLAY_COLOR = CLASS_COLORS[1]


def file_position(source: dataprocess.CImageIO) -> FilePosition | None:
    """Where the frame of a video file is; None for an image, a video that is no file, or a
    frame that Ikomia's reader of the file did not read.

    Ikomia reads a video's frame at the first ``get_image()`` of a run, and only then does
    ``get_current_pos()`` count it (1 for the first frame): call this after ``get_image()``.
    Studio's player instead hands each frame over in an input of its own, with the file's path
    on the first one only and no position (0): its frames are a live stream.
    """
    if not isinstance(source, dataprocess.CVideoIO):
        return None
    path, position = source.get_video_path(), source.get_current_pos()
    if position < 1 or not Path(path).is_file():
        return None
    return FilePosition(path, position - 1)


def still_image(source: dataprocess.CImageIO, saved: bool) -> bool:
    """Whether the input is a photo that no temporal method may touch: an image file
    (``run_on(path=...)``), or any image while Ikomia saves each run's outputs (``saved``: a
    folder run turns saving on, and its photos carry no path), so that no saved file shows
    another input's matte. Arrays, saved by no one, may be a live stream."""
    if isinstance(source, dataprocess.CVideoIO):
        return False
    return bool(source.source_file_path) or saved


class InferModnetPortraitMattingParam(core.CWorkflowTaskParam):
    """Parameters, one attribute each (see :data:`parameters.PARAMETERS`); Ikomia passes them
    as strings, parsed and validated on the way in."""

    def __init__(self) -> None:
        core.CWorkflowTaskParam.__init__(self)
        self._assign(default_values())

    def _assign(self, values: Mapping[str, object]) -> None:
        for name, value in values.items():
            setattr(self, name, value)

    def set_values(self, params: dict[str, str]) -> None:
        # All values are validated before any is assigned: a refused call changes nothing.
        self._assign(parse_values(params, self.__dict__))

    def get_values(self) -> dict[str, str]:
        return format_values(self.__dict__)


class InferModnetPortraitMatting(dataprocess.C2dImageTask):
    """Outputs: 0 the input image, 1 the matte, 2 the RGBA cutout, 3 person/background mask,
    4 the RGB composite on the chosen background.

    The background image is a file-path parameter, not a second image input: Ikomia would feed
    a second image input the same photo as the first when a workflow runs on one image."""

    def __init__(self, name: str, param: InferModnetPortraitMattingParam | None) -> None:
        dataprocess.C2dImageTask.__init__(self, name)
        self.add_output(KeptImageIO("matte", 1))
        self.add_output(KeptImageIO("cutout", 2))
        self.add_output(dataprocess.CSemanticSegmentationIO())
        self.add_output(KeptImageIO("composite", 4))
        self.set_param_object(
            InferModnetPortraitMattingParam() if param is None else copy.deepcopy(param)
        )
        self._session: MattingSession | None = None
        self._session_key: tuple[str, bool, str, str] | None = None
        # Decoded once per file (and again if the file changes), not once per video frame;
        # dropped when the background is no longer an image.
        self._backgrounds = BackgroundCache()
        # The frames of a video follow each other through it (see modnet.video.stream).
        self._stream = MatteStream()
        # Seconds spent in each stage of the last run, for benchmarks and profiling.
        self.timings: dict[str, float] = {}

    def set_parameters(self, params: dict[str, str]) -> None:
        # Checked here first: Ikomia keeps only the names a task already has, so a misspelt
        # name would be dropped before set_values sees it (the run using the default without
        # a word), and it turns an error inside set_values into a bare RuntimeError, where a
        # refused value here raises ParameterError, both a ValueError and a RuntimeError.
        param = self.get_param_object()
        parse_values({**param.get_values(), **params}, param.__dict__)
        dataprocess.C2dImageTask.set_parameters(self, params)

    def get_progress_steps(self) -> int:
        return 1

    def _get_session(self, param: InferModnetPortraitMattingParam) -> MattingSession:
        # Only the weights, the device, the backend and the precision require reloading.
        key = (param.model_weight_file, param.cuda, param.backend, param.precision)
        if self._session is None or key != self._session_key:
            weights = resolve_weights(
                param.model_weight_file, WEIGHTS_FOLDER, utils.get_model_hub_url()
            )
            self._session = MattingSession(
                weights,
                select_device(param.cuda),
                param.backend,
                cache_dir=WEIGHTS_FOLDER,
                precision=param.precision,
            )
            self._session_key = key
        return self._session

    def _background_image(
        self, param: InferModnetPortraitMattingParam, frame: tuple[int, int]
    ) -> np.ndarray | None:
        """The decoded background file for the 'image' background of a ``frame`` (height,
        width); None for the others (the core says that 'image' needs one)."""
        if param.background != "image":
            self._backgrounds.clear()
            return None
        if not param.background_image:
            return None
        return self._backgrounds.read(param.background_image, frame)

    def _matte(
        self,
        param: InferModnetPortraitMattingParam,
        image_input: dataprocess.CImageIO,
        timings: dict[str, float],
    ) -> StreamFrame:
        """The frame to show and its matte, through the temporal filter of its stream."""
        session = self._get_session(param)

        def predict_batch(rgbs: list[np.ndarray]) -> list[MattingResult]:
            # Summed: a call may matte several frames (the first of a video, and those after).
            stages: dict[str, float] = {}
            results = session.predict_batch(rgbs, param.input_size, stages, param.quality)
            for stage, seconds in stages.items():
                timings[stage] = timings.get(stage, 0.0) + seconds
            return results

        image = image_input.get_image()
        still = still_image(image_input, self.get_output(1).auto_save)
        return self._stream.matte(
            image,
            lambda rgb: predict_batch([rgb])[0],
            "none" if still else param.temporal,
            settings=tuple(getattr(param, name) for name in MATTE_SETTINGS),
            video=isinstance(image_input, dataprocess.CVideoIO),
            position=file_position(image_input),
            timings=timings,
            # On a GPU, a file's next frames go through the network together.
            predict_batch=predict_batch if session.on_device else None,
        )

    def _set_outputs(
        self, param: InferModnetPortraitMattingParam, frame: StreamFrame, outputs: Outputs
    ) -> None:
        result = frame.result
        if frame.delayed:  # every output shows the frame whose matte this is
            self.get_output(0).set_image(result.image)
        else:
            self.forward_input_image(0, 0)
        self.get_output(1).set_image(result.matte)
        self.get_output(2).set_image(outputs.cutout)
        segmentation = self.get_output(3)
        segmentation.set_class_names(CLASS_NAMES)
        segmentation.set_class_colors(CLASS_COLORS)
        with without_ipp():  # the same polygons, several times faster
            segmentation.set_mask(outputs.mask)
        # The overlay that set_output_color_map(0, 3, [OVERLAY_COLOR], True) has Ikomia make at
        # end_task_run, made here: Ikomia's per-pixel loop took 0.9 s of a 24 MP photo's run.
        self.get_output(0).set_overlay_mask(colour_overlay(outputs.mask, OVERLAY_COLOR))
        self.get_output(4).set_image(outputs.composite)

    def run(self) -> None:
        self.begin_task_run()
        param = self.get_param_object()
        image_input = self.get_input(0)
        if not image_input.is_data_available():
            raise ValueError("input 0: no image to matte")
        timings: dict[str, float] = {}
        frame = self._matte(param, image_input, timings)
        settings = OutputSettings(**{name: getattr(param, name) for name in OUTPUT_SETTINGS})
        background = self._background_image(param, frame.result.matte.shape)
        # Made where the matte was made: on a GPU, only the finished arrays come back.
        device = self._get_session(param).output_device
        outputs = make_outputs(frame.result, settings, background, device, timings)

        start = time.perf_counter()
        self._set_outputs(param, frame, outputs)
        self.emit_step_progress()
        self.end_task_run()
        timings["outputs"] += time.perf_counter() - start
        self.timings = timings


class InferModnetPortraitMattingFactory(dataprocess.CTaskFactory):
    def __init__(self) -> None:
        dataprocess.CTaskFactory.__init__(self)
        info = self.info
        info.name = "infer_modnet_portrait_matting"
        info.short_description = (
            "Trimap-free portrait matting with MODNet: alpha matte, transparent cutout, new "
            "background and person mask from a photo or a video, steadied against flicker."
        )
        info.path = "Plugins/Python/Background"
        info.version = "2.2.0"
        # The widget is PyQt6, which Ikomia ships from 0.16.0 on (earlier versions load PyQt5
        # widgets). No maximum: no later version is known to break the plugin.
        info.min_ikomia_version = "0.16.0"
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
        info.keywords = (
            "portrait,matting,alpha matte,background removal,background replacement,"
            "trimap-free,video matting,MODNet,PyTorch,OpenVINO"
        )
        info.algo_type = core.AlgoType.INFER
        info.algo_tasks = "IMAGE_MATTING"
        info.hardware_config.min_cpu = 2
        info.hardware_config.min_ram = 4
        info.hardware_config.gpu_required = False
        info.hardware_config.min_vram = 2

    def create(self, param: InferModnetPortraitMattingParam | None = None):
        return InferModnetPortraitMatting(self.info.name, param)
