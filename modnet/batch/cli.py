"""``python -m modnet.batch INPUT OUTPUT``: the command line of the batch runner.

Options carry the plugin's parameter names (``input_size`` is ``--input-size``) and are checked
by the same functions, so a refused value reads as it does in the plugin. The exit status is 0
when every photo succeeded, 1 when any failed, 2 for a usage error.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from typing import Any

from modnet import (
    BACKENDS,
    BACKGROUNDS,
    DEFAULT_BACKGROUND,
    DEFAULT_BLUR_STRENGTH,
    DEFAULT_FOREGROUND,
    DEFAULT_INPUT_SIZE,
    DEFAULT_QUALITY,
    FOREGROUND_ESTIMATORS,
    PRECISIONS,
    QUALITIES,
    check_background_color,
    check_network_threads,
    set_network_threads,
)

from .decode import DEFAULT_MAX_MEGAPIXELS
from .local import default_threads
from .manifest import ManifestLockedError
from .options import FORMATS, OUTPUT_KINDS, BatchOptions, check_outputs, default_weights
from .runner import ENGINES, MANIFEST_NAME, RayOptions, run_batch

EXIT_FAILED = 1
EXIT_USAGE = 2


def _parsed(convert: Callable[[str], Any]) -> Callable[[str], Any]:
    """An argparse type whose error is the core check's own message."""

    def parse(text: str) -> Any:
        try:
            return convert(text)
        except ValueError as error:
            raise argparse.ArgumentTypeError(str(error)) from None

    return parse


def _color(text: str) -> tuple[int, int, int]:
    parts = text.strip().strip("()[]").split(",")
    try:
        values = [int(part) for part in parts]
    except ValueError:
        values = []
    try:
        return check_background_color(values)
    except ValueError:
        raise ValueError(
            f"background_color: expected three integers in [0, 255] as R,G,B "
            f"(e.g. 255,255,255), got '{text}'"
        ) from None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m modnet.batch",
        description="Matte every photo of INPUT (a folder, walked recursively, or a .txt file "
        "listing paths) into OUTPUT, under the same relative paths. Resumable: photos that "
        "the manifest records as done with the same options are skipped.",
    )
    add = parser.add_argument
    add("input", help="folder of photos, or a .txt/.lst file with one path per line")
    add("output", help="output folder: one tree per output kind, and the manifest")
    add(
        "--outputs",
        type=_parsed(lambda t: check_outputs(t.split(","))),
        default=OUTPUT_KINDS,
        help=f"comma-separated, of {','.join(OUTPUT_KINDS)} (default all)",
    )
    for kind in ("cutout", "composite"):
        add(f"--{kind}-format", choices=FORMATS[kind], default=FORMATS[kind][0])
    add("--manifest", help=f"manifest file (default OUTPUT/{MANIFEST_NAME})")
    add(
        "--root",
        help="folder that the relative paths of a list start from (default: the list's folder)",
    )
    add("--engine", choices=ENGINES, default="local")
    # The plugin's parameters.
    add("--input-size", type=_parsed(int), default=DEFAULT_INPUT_SIZE)
    add("--quality", choices=QUALITIES, default=DEFAULT_QUALITY)
    add("--cuda", action="store_true", help="run on the GPU")
    add("--backend", choices=BACKENDS, default="auto")
    add("--precision", choices=PRECISIONS, default="auto")
    add("--model-weight-file", default="", help="MODNet .ckpt (default: weights/ of the plugin)")
    add("--foreground", choices=tuple(FOREGROUND_ESTIMATORS), default=DEFAULT_FOREGROUND)
    add("--background", choices=BACKGROUNDS, default=DEFAULT_BACKGROUND)
    add("--background-color", type=_parsed(_color), default=None, help="R,G,B")
    add("--blur-strength", type=_parsed(float), default=DEFAULT_BLUR_STRENGTH)
    add("--background-image", default=None)
    add("--cache-dir", default=None, help="where ONNX/OpenVINO conversions are kept")
    # Engines.
    add(
        "--threads",
        type=_parsed(int),
        default=None,
        help=f"local engine: decoding and writing threads each (default {default_threads()})",
    )
    add(
        "--network-threads",
        type=_parsed(lambda text: check_network_threads(int(text))),
        default=None,
        help="threads of the network on the CPU, per session (default: every core for the "
        "local engine, each Ray actor's --num-cpus)",
    )
    add(
        "--max-megapixels",
        type=_parsed(float),
        default=DEFAULT_MAX_MEGAPIXELS,
        help="larger photos are recorded as failed rather than decoded",
    )
    add(
        "--address",
        default=None,
        help="Ray: cluster address ('auto' for the one this "
        "machine joined); default: a local Ray instance",
    )
    add("--concurrency", type=_parsed(int), default=1, help="Ray: actors")
    add("--num-cpus", type=_parsed(float), default=1.0, help="Ray: CPUs per actor")
    add("--num-gpus", type=_parsed(float), default=0.0, help="Ray: GPUs per actor")
    add(
        "--batch-size",
        type=_parsed(int),
        default=1,
        help="photos per network call on a GPU, grouped by network size (Ray: also photos per "
        "actor call)",
    )
    add("--no-progress", action="store_true", help="no progress bar")
    return parser


def options_from(args: argparse.Namespace) -> BatchOptions:
    """The run's options; raises ValueError (or FileNotFoundError) naming the parameter."""
    extra = {} if args.background_color is None else {"background_color": args.background_color}
    return BatchOptions(
        weights=default_weights(args.model_weight_file),
        input_size=args.input_size,
        quality=args.quality,
        cuda=args.cuda,
        backend=args.backend,
        precision=args.precision,
        foreground=args.foreground,
        background=args.background,
        blur_strength=args.blur_strength,
        background_image=args.background_image,
        outputs=args.outputs,
        formats={"matte": "png", "cutout": args.cutout_format, "composite": args.composite_format},
        cache_dir=args.cache_dir,
        **extra,
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        options = options_from(args)
        if args.engine == "local":
            set_network_threads(args.network_threads)
        summary = run_batch(
            args.input,
            args.output,
            options,
            engine=args.engine,
            manifest=args.manifest,
            root=args.root,
            threads=args.threads,
            batch_size=args.batch_size,
            ray_options=RayOptions(
                args.address,
                args.concurrency,
                args.num_cpus,
                args.num_gpus,
                args.batch_size,
                args.network_threads,
            ),
            max_megapixels=args.max_megapixels,
            progress=not args.no_progress,
        )
    except (ValueError, OSError, ImportError, ManifestLockedError) as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_USAGE
    print(json.dumps(summary, indent=2))
    return EXIT_FAILED if summary["failed"] else 0
