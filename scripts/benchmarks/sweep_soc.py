"""SOC settings side by side: what each costs on the dev photos and gains on degraded clips.

The clips, degradations and measures of ``benchmark_soc.py`` (one photo panned, 16 frames of
1280x720 per degradation), computed once; then for each setting, SOC adapts a fresh copy of the
shared checkpoint on each clip and the adapted network is scored in memory: the change of the
clip's MSE, MAD and flicker, and of the 41 dev photos' MSE and MAD. Each setting's last row:
the change of the means over the clips, the dev photos' worst change (over the clips' weights),
and how many of the four quality targets of ``benchmark_soc.py`` it meets.

Usage: python scripts/benchmarks/sweep_soc.py [--shared ../shared] [--frames 16]
       [--degradations low-light ...] "epochs=3" "epochs=1 anchor_weight=1" ...
Each setting is a list of ``SOCSettings`` fields (``name=value``); unnamed ones keep their
defaults, except ``progress`` (off).
"""

from __future__ import annotations

import argparse
import ast
import sys
from pathlib import Path

import numpy as np
from benchmark_soc import (
    DEGRADATIONS,
    WEIGHTS_NAME,
    changes,
    clip_scores,
    dev_photos,
    dev_scores,
    dis_flows,
    mean_changes,
    target_checks,
)
from benchmark_video import BACKDROPS, PHOTOS

from synthetic_clips import synthetic_clip

REPO = Path(__file__).resolve().parents[2]


def parse_setting(text: str) -> dict[str, object]:
    """``"epochs=3 anchor_weight=1"`` -> {"epochs": 3, "anchor_weight": 1}."""
    fields = {}
    for item in text.split():
        name, _, value = item.partition("=")
        fields[name] = ast.literal_eval(value)
    return fields


def print_row(
    setting: str, clip: str, clip_changes: dict, dev_changes: dict, seconds: float
) -> None:
    """One table row: the changes of the clip's scores and of the dev photos' scores."""
    cells = [f"{clip_changes[name]:+.1%}" for name in ("MSE", "MAD", "flicker")]
    cells += [f"{dev_changes[name]:+.1%}" for name in ("MSE", "MAD")]
    print(f"| {setting} | {clip} | {' | '.join(cells)} | {seconds:.0f} |", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("settings", nargs="+", help='e.g. "epochs=3 anchor_weight=1"')
    parser.add_argument("--shared", type=Path, default=REPO.parent / "shared")
    parser.add_argument("--frames", type=int, default=16, help="frames per clip")
    parser.add_argument("--degradations", nargs="*", default=list(DEGRADATIONS))
    args = parser.parse_args()

    sys.path.insert(0, str(REPO))  # the core, importable without installing the plugin
    from modnet import load_checkpoint
    from modnet.soc import SOCSettings, adapt_network, load_for_soc
    from modnet.soc.frames import read_frames

    checkpoint = args.shared / "models" / WEIGHTS_NAME
    dev = args.shared / "data" / "ppm100-dev"
    pair = {
        s: (dev / "image" / f"{s}.jpg", dev / "alpha" / f"{s}.jpg") for s in (*PHOTOS, *BACKDROPS)
    }
    clip = synthetic_clip(*pair[PHOTOS[0]], "pan", args.frames, backdrop=pair[BACKDROPS[0]])
    truths = [clip.truth(t) for t in range(len(clip))]
    original = load_checkpoint(checkpoint).eval()
    photos = dev_photos(dev)
    dev_original = dev_scores(original, photos)
    clips = {}
    for name in args.degradations:
        rng = np.random.default_rng(0)
        frames = [DEGRADATIONS[name](f, rng) for f in clip.frames()]
        flows = dis_flows(frames)
        clips[name] = (frames, flows, clip_scores(original, frames, truths, flows))
    print(
        f"Dev photos with the original weights: MSE {dev_original['MSE']:.5f}, "
        f"MAD {dev_original['MAD']:.5f}. Changes after adapting:\n\n"
        "| setting | clip | MSE | MAD | flicker | dev photos MSE | dev photos MAD | adapt s |\n"
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
        flush=True,
    )
    for text in args.settings:
        settings = SOCSettings(progress=False, **parse_setting(text))
        rows, dev_changes, seconds = [], [], 0.0
        for name, (frames, flows, before) in clips.items():
            network, heads, _, _ = load_for_soc(checkpoint)
            report = adapt_network(
                network, heads, read_frames(frames, settings.working_size), settings
            )
            rows.append(
                {"before": before, "after": clip_scores(network.eval(), frames, truths, flows)}
            )
            dev_changes.append(changes(dev_scores(network, photos), dev_original))
            seconds += report.seconds
            print_row(
                text, name, changes(rows[-1]["after"], before), dev_changes[-1], report.seconds
            )
        worst_dev = {name: max(d[name] for d in dev_changes) for name in dev_original}
        checks = target_checks(rows, [d["MSE"] for d in dev_changes])
        met = sum(ok for _, _, ok in checks)
        print_row(
            text,
            f"mean (dev: worst), {met}/{len(checks)} targets",
            mean_changes(rows),
            worst_dev,
            seconds,
        )


if __name__ == "__main__":
    main()
