"""Ikomia's own OpenCV without IPP around the person mask: the switch is found, restored, kept
to its thread, and the segmentation output is the same bytes as with IPP."""

from __future__ import annotations

import json
import sys
import threading

import numpy as np
import pytest

from conftest import SAMPLE

linux_only = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="the switch is reached on Linux only"
)


@pytest.fixture
def opencv(ikomia_workflow):
    """The plugin's module, imported as Ikomia imports it (the Workflow class installs it)."""
    from infer_modnet_portrait_matting import ikomia_opencv

    return ikomia_opencv


def without_ids(value: object) -> object:
    if isinstance(value, dict):
        return {key: without_ids(item) for key, item in value.items() if key != "id"}
    if isinstance(value, list):
        return [without_ids(item) for item in value]
    return value


@linux_only
def test_the_switch_is_found_and_restored_even_after_an_error(opencv) -> None:
    switch = opencv.ipp_switch()
    assert switch is not None, "Ikomia's OpenCV core library or its IPP switch was not found"
    use_ipp, _ = switch
    before = use_ipp()
    with pytest.raises(RuntimeError), opencv.without_ipp():
        assert not use_ipp()
        raise RuntimeError("inside")
    assert use_ipp() == before


@linux_only
def test_the_switch_holds_in_its_thread_only(opencv) -> None:
    use_ipp, set_use_ipp = opencv.ipp_switch()
    set_use_ipp(True)
    seen: list[bool] = []
    with opencv.without_ipp():
        thread = threading.Thread(target=lambda: seen.append(use_ipp()))
        thread.start()
        thread.join()
        assert not use_ipp()
    assert seen == [True]


def test_the_person_mask_is_the_same_with_and_without_ipp(workflow, task, opencv) -> None:
    from ikomia import dataprocess

    workflow.run_on(path=str(SAMPLE))
    made = task.get_output(3)
    mask = made.get_mask().copy()
    assert set(np.unique(mask)) == {0, 1}
    # The same mask through Ikomia's default path, IPP on.
    reference = dataprocess.CSemanticSegmentationIO()
    reference.set_class_names(made.get_class_names())
    reference.set_class_colors(made.get_colors())
    reference.set_mask(mask)
    assert len(made.get_polygons()) > 0
    # The mask, classes, colours and polygons; each graphics item's id counts every item made.
    assert without_ids(json.loads(made.to_json())) == without_ids(json.loads(reference.to_json()))
    np.testing.assert_array_equal(made.get_legend(), reference.get_legend())
