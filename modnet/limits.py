"""Bounds on the network's work, so that time and memory per image depend on the image's pixel
count, not on its shape or on ``input_size``.

Measured with ``scripts/benchmark_limits.py`` (see the README's Reliability section):

- ``INPUT_SIZE_MAX``: the largest ``input_size`` at which MODNet still produces a matte. Its
  semantic branch sees the image through a fixed receptive field; at larger sizes a person no
  longer fits in it and the matte fades (PPM-100 photos: MSE against the ground truth and the
  matte's mass relative to it, per input size, in the ``input-size`` table of that script).
- ``MAX_NETWORK_PIXELS``: the network's input never exceeds this many pixels. It is the input of
  a 2:1 image at ``INPUT_SIZE_MAX``, so no photo of ordinary proportions is affected; beyond it
  ONNX Runtime's peak memory grows by about 0.6 GB per million pixels.
"""

from __future__ import annotations

# Network inputs must be multiples of the backbone's total stride.
STRIDE = 32
INPUT_SIZE_MAX = 1024
MAX_NETWORK_PIXELS = 2 * INPUT_SIZE_MAX * INPUT_SIZE_MAX
