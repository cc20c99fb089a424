"""Batch matting: a folder tree (or a list) of photos into a tree of mattes, cutouts and
composites under the same relative paths, resumable from a manifest, on one machine
(:mod:`modnet.batch.local`) or a Ray cluster (:mod:`modnet.batch.ray_engine`).

Command line: ``python -m modnet.batch INPUT OUTPUT`` (see :mod:`modnet.batch.cli`).
"""

from .decode import DecodeError, decode_image
from .inputs import InputFile, InputTree, collect_inputs
from .manifest import Manifest, ManifestLockedError, read_manifest
from .options import OUTPUT_KINDS, BatchOptions
from .runner import ENGINES, RayOptions, run_batch

__all__ = [
    "ENGINES",
    "OUTPUT_KINDS",
    "BatchOptions",
    "DecodeError",
    "InputFile",
    "InputTree",
    "Manifest",
    "ManifestLockedError",
    "RayOptions",
    "collect_inputs",
    "decode_image",
    "read_manifest",
    "run_batch",
]
