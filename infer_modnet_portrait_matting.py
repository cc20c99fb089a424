"""Ikomia plugin entry point: the task and widget factories."""

from ikomia import dataprocess


class IkomiaPlugin(dataprocess.CPluginProcessInterface):
    def __init__(self) -> None:
        dataprocess.CPluginProcessInterface.__init__(self)

    def get_process_factory(self):
        from infer_modnet_portrait_matting.infer_modnet_portrait_matting_process import (
            InferModnetPortraitMattingFactory,
        )

        return InferModnetPortraitMattingFactory()

    def get_widget_factory(self):
        from infer_modnet_portrait_matting.infer_modnet_portrait_matting_widget import (
            InferModnetPortraitMattingWidgetFactory,
        )

        return InferModnetPortraitMattingWidgetFactory()
