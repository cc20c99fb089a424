"""Bounds on the network's work, so that time and memory per image depend on the image's pixel
count, not on its shape or on ``input_size``.

Measured with ``scripts/benchmarks/benchmark_limits.py`` (see the README's Reliability section):

- ``INPUT_SIZE_MAX``: the largest ``input_size`` at which MODNet still produces a matte. Its
  semantic branch sees the image through a fixed receptive field; at larger sizes a person no
  longer fits in it and the matte fades. On every 4th PPM-100 dev photo, the worst photo's matte
  keeps 90% of the ground truth's mass at 1024, 78% at 1280, 51% at 1536 and 5% at 2048 (the
  ``input-size`` table of that script).
- ``network_pixel_cap``: at an ``input_size``, the network's input is at most
  ``ASPECT_ALLOWANCE * input_size**2`` pixels (never above ``MAX_NETWORK_PIXELS``): photos up to
  4:1 keep the short side at ``input_size``, while a thin strip costs what a 4:1 photo costs at
  that size, not what the largest input size costs. At the default 512 that is 1,048,576 pixels.
- ``MAX_NETWORK_PIXELS``: the network's input never exceeds this many pixels. It is the input of
  a 2:1 image at ``INPUT_SIZE_MAX``, so no photo of ordinary proportions is affected. At this
  size a process's peak resident memory measured 0.94 to 1.06 GiB with ONNX Runtime and 1.9 to
  2.0 GiB with PyTorch (the ``budget`` table).
- ``SHRINK_FACTOR``: a runtime keeps memory for the largest input it has run (ONNX Runtime's
  arena, OpenVINO's compiled models, the C library's heaps under PyTorch); it gives it back once
  an input's pixel count differs from what it holds memory for by more than this factor. The
  network inputs of photos of ordinary proportions (1:1 to 2:1) at one input size differ by
  less, so a stream of them never pays for giving memory back.
"""

from __future__ import annotations

# Network inputs must be multiples of the backbone's total stride.
STRIDE = 32
INPUT_SIZE_MAX = 1024
MAX_NETWORK_PIXELS = 2 * INPUT_SIZE_MAX * INPUT_SIZE_MAX
SHRINK_FACTOR = 2.0
# Aspect ratio (long side over short side) up to which an image is never capped below its
# ``input_size``, for input sizes up to sqrt(MAX_NETWORK_PIXELS / ASPECT_ALLOWANCE) = 724.
ASPECT_ALLOWANCE = 4


def network_pixel_cap(input_size: int) -> int:
    """The most pixels the network's input may have at ``input_size``."""
    return min(MAX_NETWORK_PIXELS, ASPECT_ALLOWANCE * input_size * input_size)
