"""The OpenCV inside Ikomia's own C++ code, which is not always the ``cv2`` that Python imported.

Ikomia ships OpenCV as shared libraries beside its modules (``ikomia/lib``); its C++ calls them
whichever ``cv2`` a script imported first (pip's opencv-python carries a copy of its own). In
Ikomia 0.16.1, that OpenCV's Intel IPP compares a uint8 image with a constant about 100 times
slower than OpenCV's own code does (19 ms against 0.2 ms at 1920x1280), and
``CSemanticSegmentationIO.set_mask`` makes one such comparison per class present, to trace its
polygons: 45 ms of a 1920x1280 photo's run, 430 ms of a 24-megapixel one. :func:`without_ipp`
turns IPP off in that library for the calling thread only (OpenCV keeps the switch per thread)
and restores it after; a comparison gives the same bytes either way.

The switch is reached through the library's exported C++ names, known for Linux builds; where
the library or the names are not found (other systems, other Ikomia builds), nothing changes.
"""

from __future__ import annotations

import ctypes
import functools
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import ikomia

_CORE_LIBRARIES = "libopencv_core.so.*"
# bool cv::ipp::useIPP() and void cv::ipp::setUseIPP(bool), as the Itanium C++ ABI names them.
_USE_IPP = "_ZN2cv3ipp6useIPPEv"
_SET_USE_IPP = "_ZN2cv3ipp9setUseIPPEb"

IppSwitch = tuple[Callable[[], bool], Callable[[bool], None]]


@functools.cache
def ipp_switch() -> IppSwitch | None:
    """The getter and setter of IPP's use in Ikomia's OpenCV for the calling thread, or None
    where they cannot be found."""
    if not sys.platform.startswith("linux"):
        return None
    libraries = sorted((Path(ikomia.__file__).parent / "lib").glob(_CORE_LIBRARIES))
    if not libraries:
        return None
    try:
        # Already loaded by Ikomia's modules: this returns the same library, not a second copy.
        library = ctypes.CDLL(str(libraries[-1]))
        get, set_ = getattr(library, _USE_IPP), getattr(library, _SET_USE_IPP)
    except (OSError, AttributeError):
        return None
    get.argtypes, get.restype = [], ctypes.c_bool
    set_.argtypes, set_.restype = [ctypes.c_bool], None
    return get, set_


@contextmanager
def without_ipp() -> Iterator[None]:
    """Ikomia's OpenCV without Intel IPP in this thread, restored after."""
    switch = ipp_switch()
    if switch is None:
        yield
        return
    get, set_ = switch
    previous = get()
    set_(False)
    try:
        yield
    finally:
        set_(previous)
