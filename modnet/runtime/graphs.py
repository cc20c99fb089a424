"""Replays of the network for input shapes that repeat: on a GPU at batch 1, MODNet is many
small kernels, and launching them one by one from Python costs more than running them.

A CUDA graph records the kernels of one call for one input shape and replays them with one
launch. :class:`GraphCache` keeps a few: the first call of a shape runs as usual (it also lets
cuDNN pick its kernels), the second captures a graph and the later ones replay it, so a photo
seen once pays no capture. A shape whose capture fails runs as usual from then on. The policy
takes its capture function as an argument, so that it is tested on the CPU with a fake one.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Callable, Hashable

import torch

logger = logging.getLogger(__name__)

Forward = Callable[[torch.Tensor], torch.Tensor]
# Records ``forward`` for inputs shaped like the given one; returns its replay.
Capture = Callable[[Forward, torch.Tensor], Forward]

# Graphs kept: each holds the activations of its shape on the GPU (about 100 MB at 512 x 896 in
# float16), and a photo of quality high, or a video at two input sizes, uses up to four shapes.
GRAPH_SHAPES = 4
# Shapes remembered as seen once: enough for a video and its photos, bounded for a long run of
# photos of all sizes.
SEEN_SHAPES = 64


class GraphCache:
    """Runs ``forward`` eagerly on the first call of an input shape, captures it with
    ``capture`` on the second and replays it after; keeps the ``size`` shapes used last
    (least recently used first out). ``capture`` None, or ``size`` 0: always eager."""

    def __init__(self, capture: Capture | None, size: int = GRAPH_SHAPES) -> None:
        self.capture = capture if size > 0 else None
        self.size = size
        self.graphs: OrderedDict[Hashable, Forward] = OrderedDict()
        self._seen: OrderedDict[Hashable, None] = OrderedDict()
        self._failed: set[Hashable] = set()

    def __call__(self, forward: Forward, x: torch.Tensor) -> torch.Tensor:
        if self.capture is None:
            return forward(x)
        key = (tuple(x.shape), x.dtype, x.device, x.stride())
        replay = self.graphs.get(key)
        if replay is not None:
            self.graphs.move_to_end(key)
            return replay(x)
        if key in self._failed or key not in self._seen:
            _remember(self._seen, key, SEEN_SHAPES)
            return forward(x)
        try:
            replay = self.capture(forward, x)
        except Exception as error:  # any failure to capture leaves the eager call, which works
            logger.warning("no CUDA graph for inputs of shape %s (%s): run without", key[0], error)
            self._failed.add(key)
            return forward(x)
        _remember(self.graphs, key, self.size, replay)
        return replay(x)

    def clear(self) -> None:
        """Lets every graph go, and the memory it holds with it."""
        self.graphs.clear()
        self._seen.clear()


def _remember(
    cache: OrderedDict[Hashable, object], key: Hashable, size: int, value: object = None
) -> None:
    cache[key] = value
    cache.move_to_end(key)
    while len(cache) > size:
        cache.popitem(last=False)


def cuda_capture(forward: Forward, x: torch.Tensor) -> Forward:
    """A CUDA graph of ``forward`` for inputs shaped like ``x``; its replay copies the input
    into the graph's own, replays, and returns a copy of the output (the next replay
    overwrites the graph's)."""
    static_input = x.clone()
    # Warmed up on a side stream before capture, as PyTorch asks.
    stream = torch.cuda.Stream(device=x.device)
    stream.wait_stream(torch.cuda.current_stream(x.device))
    with torch.cuda.stream(stream):
        forward(static_input)
    torch.cuda.current_stream(x.device).wait_stream(stream)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        static_output = forward(static_input)

    def replay(y: torch.Tensor) -> torch.Tensor:
        static_input.copy_(y)
        graph.replay()
        return static_output.clone()

    return replay
