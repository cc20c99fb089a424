"""Ikomia HUB test contract: run the task once on the HUB's test image."""

import logging

import cv2
from ikomia.utils.tests import run_for_test

logger = logging.getLogger(__name__)


def test(t, data_dict):
    logger.info(f"===== Test::{t.name} =====")
    logger.info("----- Use default parameters")
    img = cv2.imread(data_dict["images"]["detection"]["coco"])[..., ::-1]
    t.get_input(0).set_image(img)
    return run_for_test(t)
