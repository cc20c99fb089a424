"""SOC's time per iteration: median milliseconds of one adaptation step, for each setting.

The frames are those of ``benchmark_soc.py``'s low-light clip (1280x720, read at the working
size); each setting adapts a fresh copy of the shared checkpoint for ``--iterations`` steps
(the first ``--warm-up`` not counted: oneDNN picks its kernels then), one after the other in
one process, so that their medians compare on the same machine state.

Usage: python scripts/benchmarks/benchmark_soc_speed.py [--threads 2] [--iterations 24]
       "working_size=256" "working_size=256 freeze_backbone=True" ...
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch
from benchmark_soc import DEGRADATIONS, WEIGHTS_NAME
from benchmark_video import BACKDROPS, PHOTOS
from sweep_soc import parse_setting

from synthetic_clips import synthetic_clip

REPO = Path(__file__).resolve().parents[2]


def step_times(settings, checkpoint: Path, frames: list[np.ndarray]) -> list[float]:
    """Seconds of each step of one adaptation: the optimizer's steps, timed end to end."""
    from modnet.soc import adapt_network, load_for_soc
    from modnet.soc.frames import read_frames

    network, heads, _, _ = load_for_soc(checkpoint)
    frames = read_frames(frames, settings.working_size)
    ends = []
    step = torch.optim.Adam.step

    def timed_step(self, *args, **kwargs):
        result = step(self, *args, **kwargs)
        ends.append(time.perf_counter())
        return result

    torch.optim.Adam.step = timed_step
    try:
        start = time.perf_counter()
        adapt_network(network, heads, frames, settings)
    finally:
        torch.optim.Adam.step = step
    return list(np.diff([start, *ends]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("settings", nargs="+", help='e.g. "working_size=256 freeze_backbone=True"')
    parser.add_argument("--shared", type=Path, default=REPO.parent / "shared")
    parser.add_argument("--threads", type=int, help="torch.set_num_threads (default: PyTorch's)")
    parser.add_argument("--iterations", type=int, default=24)
    parser.add_argument("--warm-up", type=int, default=4)
    args = parser.parse_args()

    sys.path.insert(0, str(REPO))  # the core, importable without installing the plugin
    from modnet.soc import SOCSettings

    if args.threads:
        torch.set_num_threads(args.threads)
    dev = args.shared / "data" / "ppm100-dev"
    pair = {
        s: (dev / "image" / f"{s}.jpg", dev / "alpha" / f"{s}.jpg") for s in (*PHOTOS, *BACKDROPS)
    }
    clip = synthetic_clip(*pair[PHOTOS[0]], "pan", 16, backdrop=pair[BACKDROPS[0]])
    rng = np.random.default_rng(0)
    frames = [DEGRADATIONS["low-light"](f, rng) for f in clip.frames()]
    checkpoint = args.shared / "models" / WEIGHTS_NAME
    print(f"PyTorch {torch.__version__}, {torch.get_num_threads()} threads\n")
    print(
        "| setting | frame | median ms per iteration | min | max |\n| --- | --- | --- | --- | --- |"
    )
    for text in args.settings:
        fields = {"epochs": 100, **parse_setting(text), "max_iterations": args.iterations}
        settings = SOCSettings(progress=False, **fields)
        times = np.array(step_times(settings, checkpoint, frames)[args.warm_up :]) * 1000
        height = settings.working_size
        width = int(height * 1280 / 720) // 32 * 32
        print(
            f"| {text} | {width}x{height} | {np.median(times):.0f} | {times.min():.0f} "
            f"| {times.max():.0f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
