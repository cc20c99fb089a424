"""Foreground colours from a photo and its matte, so that a cutout carries no old background.

A photo is ``image = alpha * F + (1 - alpha) * B``: where the matte is between 0 and 1 (hair,
edges), the photo's colour mixes the person's colour F with the background's B, and a raw
cutout shows that background as a halo on any new one. Estimators:

- ``raw``: the photo's colours, unchanged.
- ``estimated``: smooth estimates of F and B from a multi-level blur fusion (Forte and Pitié,
  "Approximate fast foreground colour estimation", ICIP 2021) on the photo halved until its
  long side is at most 1024 pixels, then a per-pixel least-squares correction at full
  resolution that makes ``alpha * F + (1 - alpha) * B`` reproduce the photo. Only the pixels
  with a fractional alpha are corrected; the others keep the photo's colour (alpha 1: F is
  the photo; alpha 0: F is invisible).

Everything is float32. The work at full resolution is a copy of the photo and, for the band's
pixels, a gather, a few products and a scatter, done in stripes of rows whose arrays stay in the
processor's cache: the only full-resolution array is the uint8 result. The blur fusion's blocks
of rows and colour planes run side by side on the worker threads of :mod:`modnet.workers`;
each is computed as it would be alone, so the result does not depend on the number of
threads. The full-resolution stripes run on the calling thread: filled side by side by two
threads, they were faster, but the outputs made after a 24-megapixel cutout then took up
to four times longer on the 2-core virtual machine measured, most of it in the kernel,
zeroing their fresh pages (docs/speed.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import cv2
import numpy as np

from ..image import row_stripes, to_rgb_uint8
from ..workers import map_work


@dataclass(frozen=True)
class BlurFusion:
    """Parameters of the blur-fusion estimator.

    ``working_side``: F and B are smoothed on the image halved until its long side is at most
    this (so between half of it and all of it). ``box_sizes``: box filter sizes of the
    successive passes at that resolution, in pixels, coarse to fine; the finest must exceed
    the width of the matte's transition band.
    ``foreground_weight`` and ``background_weight``: how far each pass may move F and B away
    from their smooth estimates to explain the photo; B moves less (it is usually out of
    focus, so smoother). ``final_weight``: the same for F in the full-resolution correction.
    """

    working_side: int = 1024
    box_sizes: tuple[int, ...] = (90, 20, 6)
    foreground_weight: float = 0.01
    background_weight: float = 0.2
    final_weight: float = 0.001


FOREGROUND_ESTIMATORS: dict[str, BlurFusion | None] = {
    "raw": None,
    "estimated": BlurFusion(),
}
DEFAULT_FOREGROUND = "estimated"
# cv2.remap refuses maps with a side of 32767 or more: band pixels are sampled in rows of this.
_REMAP_ROW = 4096
# The per-pixel work of a blur fusion runs on blocks of rows of this many pixels: few enough
# that a block's temporaries come back from the cache, enough that handing a block to a worker
# thread costs little beside its work (blocks of a quarter of this took 25% longer on two
# threads at 960 x 640).
_FUSION_BLOCK_PIXELS = 1 << 16


def check_foreground(foreground: str) -> str:
    """Validates the name of a foreground estimator."""
    if foreground not in FOREGROUND_ESTIMATORS:
        raise ValueError(
            f"foreground: expected one of {', '.join(FOREGROUND_ESTIMATORS)}, got '{foreground}'"
        )
    return foreground


def estimate_foreground(
    image: np.ndarray, matte: np.ndarray, foreground: str | BlurFusion = DEFAULT_FOREGROUND
) -> np.ndarray:
    """H x W x 3 RGB uint8 foreground colours of ``image`` (any format accepted by
    :func:`modnet.image.to_rgb_uint8`) under the uint8 H x W ``matte``.

    ``foreground``: the name of an estimator, or blur-fusion parameters of one's own. ``raw``
    returns the image's own colours (possibly a view of ``image``); the others a new array
    equal to the image wherever the matte is 0 or 255.
    """
    estimator = _estimator(foreground)
    rgb = to_rgb_uint8(image)
    matte = _check_matte(matte, rgb.shape[:2])
    if estimator is None:
        return rgb
    return _estimate(rgb, matte, estimator, channels=3)


def estimate_cutout(
    image: np.ndarray, matte: np.ndarray, foreground: str | BlurFusion = DEFAULT_FOREGROUND
) -> np.ndarray:
    """H x W x 4 RGBA uint8: the colours of :func:`estimate_foreground` with the matte as
    alpha, as :func:`modnet.edit.compositing.cutout` makes them, without the RGB array between
    (one pass over the image instead of two)."""
    estimator = _estimator(foreground)
    rgb = to_rgb_uint8(image)
    return _estimate(rgb, _check_matte(matte, rgb.shape[:2]), estimator, channels=4)


def _estimator(foreground: str | BlurFusion) -> BlurFusion | None:
    if isinstance(foreground, BlurFusion):
        return foreground
    return FOREGROUND_ESTIMATORS[check_foreground(foreground)]


def _estimate(
    rgb: np.ndarray, matte: np.ndarray, estimator: BlurFusion | None, channels: int
) -> np.ndarray:
    """The photo's colours, the matte as a fourth channel if ``channels`` is 4, and the band's
    colours corrected by ``estimator`` (none: ``raw``)."""
    result = np.empty((*rgb.shape[:2], channels), np.uint8)  # C order: stripes are rows of it
    layers: _SmoothLayers | None = None
    for stripe in row_stripes(*matte.shape):
        if channels == 4:
            cv2.cvtColor(rgb[stripe], cv2.COLOR_RGB2RGBA, dst=result[stripe])
            result[stripe, :, 3] = matte[stripe]
        else:
            np.copyto(result[stripe], rgb[stripe])
        if estimator is None:
            continue
        band = np.flatnonzero((matte[stripe].ravel() - np.uint8(1)) < 254)  # 0 < alpha < 255
        if band.size:
            if layers is None:  # made once, and only for an image with a band
                layers = _SmoothLayers.of(rgb, matte, estimator)
            _correct(
                result[stripe], matte[stripe], band, stripe.start, layers, estimator.final_weight
            )
    return result


def _check_matte(matte: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    matte = np.asarray(matte)
    if matte.dtype != np.uint8 or matte.shape != shape:
        raise ValueError(
            f"matte: expected a uint8 array of shape {shape}, got {matte.dtype} {matte.shape}"
        )
    return matte


@dataclass(frozen=True)
class _SmoothLayers:
    """Smooth F and B at the working resolution, 3 x h x w planes each, and the factor by which
    the image was shrunk to it."""

    foreground: np.ndarray
    background: np.ndarray
    factor: int

    @classmethod
    def of(cls, rgb: np.ndarray, matte: np.ndarray, estimator: BlurFusion) -> _SmoothLayers:
        small, factor = _halve(rgb, estimator.working_side)
        small_alpha, _ = _halve(matte, estimator.working_side)
        # Colour planes, 3 x h x w: the matte's h x w arrays broadcast over them at full speed.
        planes = np.stack(cv2.split(small)).astype(np.float32) / 255
        smooth_alpha = small_alpha.astype(np.float32) / 255
        return cls(*_blur_fusion(planes, smooth_alpha, estimator), factor)

    def sample(self, band: np.ndarray, width: int, top: int) -> tuple[np.ndarray, np.ndarray]:
        """Smooth F and B (N x 3 views of 3 x N arrays: the band's arithmetic runs on the
        planes) at the ``band``'s pixels, flat indices into rows of ``width`` pixels from row
        ``top`` of the image."""
        y, x = np.divmod(band, width)
        y += top
        # Working pixel i covers full-resolution pixels [i * factor, (i + 1) * factor): pixel
        # x is sampled at (x + 0.5) / factor - 0.5, written x / factor + offset (exact: factor
        # is a power of two).
        scale, offset = np.float32(1 / self.factor), np.float32(0.5 / self.factor - 0.5)
        x, y = (np.multiply(c, scale, dtype=np.float32, casting="unsafe") + offset for c in (x, y))
        return _sample(self.foreground, x, y).T, _sample(self.background, x, y).T


def _correct(
    result: np.ndarray,
    matte: np.ndarray,
    band: np.ndarray,
    top: int,
    layers: _SmoothLayers,
    final_weight: float,
) -> None:
    """Replaces the colours of the ``band`` pixels (flat indices) of ``result``, rows of the
    image from row ``top`` that still hold the photo's colours (RGB or RGBA), with their
    least-squares foreground colours."""
    # A pixel as one 3- or 4-byte item: NumPy gathers and scatters these about twice as fast
    # as rows.
    pixels = result.reshape(-1).view(f"V{result.shape[2]}")
    taken = np.take(pixels, band).view(np.uint8).reshape(band.size, -1)
    colour = taken[:, :3].T.astype(np.float32)
    alpha = matte.ravel()[band].astype(np.float32) / 255
    smooth_f, smooth_b = layers.sample(band, matte.shape[1], top)
    # argmin_F |alpha F + (1 - alpha) B - image|^2 + final_weight |F - smooth F|^2, B fixed, is
    # smooth F + gain * (image - alpha smooth F - (1 - alpha) smooth B) with
    # gain = alpha / (alpha^2 + final_weight): per pixel, a sum of the three colours weighted
    # by scalars, computed on the band's N values before they meet its 3 x N colours.
    gain = alpha / (alpha * alpha + final_weight)
    estimate = smooth_f
    estimate *= 255 * (1 - gain * alpha)
    smooth_b *= 255 * gain * (alpha - 1)
    colour *= gain
    estimate += smooth_b
    estimate += colour
    np.rint(np.clip(estimate, 0, 255, out=estimate), out=estimate)
    taken[:, :3] = estimate.T  # exact: whole numbers in [0, 255]
    np.put(pixels, band, taken.reshape(-1).view(pixels.dtype))


def _halve(image: np.ndarray, side: int) -> tuple[np.ndarray, int]:
    """``image`` averaged over 2 x 2 blocks until its long side is at most ``side``, and the
    total shrink factor. Exact halvings take OpenCV's fast path: a 12-megapixel photo shrinks
    about ten times faster than with one resize by a fractional factor. An odd last row or
    column is dropped."""
    factor = 1
    while max(image.shape[:2]) > side and min(image.shape[:2]) >= 2:
        height, width = image.shape[0] // 2, image.shape[1] // 2
        even = image[: 2 * height, : 2 * width]
        image = cv2.resize(even, (width, height), interpolation=cv2.INTER_AREA)
        factor *= 2
    return image, factor


def _blur_fusion(
    image: np.ndarray, alpha: np.ndarray, estimator: BlurFusion
) -> tuple[np.ndarray, np.ndarray]:
    """Coarse-to-fine passes over the 3 x H x W colour planes ``image`` and their H x W
    ``alpha``: each blurs F weighted by alpha^2 and B by (1 - alpha)^2 (pixels that mostly show
    one layer say most about it), then moves both by least squares towards explaining the
    image. Returns the last pass's smooth F and B, 3 x H x W planes each (the last pass only
    blurs: nothing uses its moved F and B).

    The per-pixel work runs block by block of rows, the blocks side by side on the worker
    threads: a block's temporaries stay in a core's cache and come from memory already mapped.
    """
    fusion = _Fusion.allocate(image, alpha)
    blocks = list(row_stripes(*alpha.shape, _FUSION_BLOCK_PIXELS))
    map_work(partial(fusion.start, estimator), blocks)
    *moves, last = estimator.box_sizes
    for size in moves:
        fusion.blur(size)
        map_work(fusion.move, blocks)
    fusion.blur(last)
    map_work(fusion.normalise, blocks)
    return fusion.weighted_f, fusion.weighted_b


@dataclass(frozen=True)
class _Fusion:
    """The arrays of a blur fusion: the 3 x H x W image, its H x W matte and the matte's
    functions, F and B weighted for the next blur (blurred in place into weighted sums), and
    the blurred weights that normalise the sums."""

    image: np.ndarray
    alpha: np.ndarray
    beta: np.ndarray
    fg_weight: np.ndarray
    bg_weight: np.ndarray
    fg_gain: np.ndarray
    bg_gain: np.ndarray
    norm_f: np.ndarray
    norm_b: np.ndarray
    weighted_f: np.ndarray
    weighted_b: np.ndarray

    @classmethod
    def allocate(cls, image: np.ndarray, alpha: np.ndarray) -> _Fusion:
        planes = (np.empty_like(alpha) for _ in range(7))
        return cls(image, alpha, *planes, np.empty_like(image), np.empty_like(image))

    def start(self, estimator: BlurFusion, rows: slice) -> None:
        """The matte's functions and the first weighted F and B on ``rows``."""
        alpha = self.alpha[rows]
        beta = np.subtract(1, alpha, out=self.beta[rows])
        fg_weight = np.multiply(alpha, alpha, out=self.fg_weight[rows])
        bg_weight = np.multiply(beta, beta, out=self.bg_weight[rows])
        fg_mix = estimator.foreground_weight
        ratio = fg_mix / estimator.background_weight  # fg_mix / bg_mix
        # argmin over F, B of |alpha F + beta B - image|^2 + fg_mix |F - smooth F|^2
        # + bg_mix |B - smooth B|^2: the residual is shared in proportion to these gains.
        denominator = fg_mix + fg_weight + bg_weight * ratio
        np.divide(alpha, denominator, out=self.fg_gain[rows])
        np.divide(beta * ratio, denominator, out=self.bg_gain[rows])
        np.multiply(self.image[:, rows], fg_weight, out=self.weighted_f[:, rows])
        np.multiply(self.image[:, rows], bg_weight, out=self.weighted_b[:, rows])

    def blur(self, size: int) -> None:
        """Blurs the weighted planes in place, and the weights into their normalisers (plus a
        small constant against 0), over size x size boxes: the eight planes side by side."""
        pairs = [(plane, plane) for plane in (*self.weighted_f, *self.weighted_b)]
        pairs += [(self.fg_weight, self.norm_f), (self.bg_weight, self.norm_b)]
        map_work(partial(_blur, size=size), pairs)
        for norm in (self.norm_f, self.norm_b):
            norm += 1e-5

    def normalise(self, rows: slice) -> tuple[np.ndarray, np.ndarray]:
        """The weighted sums of ``rows`` divided by their weights, in place: smooth F and B."""
        smooth_f, smooth_b = self.weighted_f[:, rows], self.weighted_b[:, rows]
        smooth_f /= self.norm_f[rows]
        smooth_b /= self.norm_b[rows]
        return smooth_f, smooth_b

    def move(self, rows: slice) -> None:
        """The least-squares step of a pass on ``rows``: F and B weighted again for the next
        blur."""
        smooth_f, smooth_b = self.normalise(rows)
        # image - alpha smooth F - beta smooth B, then smooth + gain * residual, clipped.
        residual = self.alpha[rows] * smooth_f
        np.subtract(self.image[:, rows], residual, out=residual)
        residual -= self.beta[rows] * smooth_b
        fg = self.fg_gain[rows] * residual
        fg += smooth_f
        np.clip(fg, 0, 1, out=fg)
        residual *= self.bg_gain[rows]
        residual += smooth_b
        np.clip(residual, 0, 1, out=residual)
        np.multiply(fg, self.fg_weight[rows], out=smooth_f)
        np.multiply(residual, self.bg_weight[rows], out=smooth_b)


def _blur(pair: tuple[np.ndarray, np.ndarray], size: int) -> None:
    source, target = pair
    cv2.blur(source, (size, size), dst=target)


def _sample(planes: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Bilinear values of the 3 x H x W ``planes`` at N points, as N x 3 (a view of 3 x N
    planes)."""
    count = x.size
    rows = -(-count // _REMAP_ROW)
    maps = []
    for coordinate in (x, y):
        padded = np.zeros(rows * _REMAP_ROW, np.float32)
        padded[:count] = coordinate
        maps.append(padded.reshape(rows, _REMAP_ROW))
    samples = np.empty((len(planes), rows, _REMAP_ROW), np.float32)
    for plane, values in zip(planes, samples, strict=True):
        cv2.remap(plane, *maps, cv2.INTER_LINEAR, dst=values, borderMode=cv2.BORDER_REPLICATE)
    return samples.reshape(len(planes), -1)[:, :count].T
