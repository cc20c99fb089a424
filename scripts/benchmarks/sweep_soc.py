"""SOC settings side by side: what each costs on the dev photos and gains on degraded clips.

The clips, degradations and measures of ``benchmark_soc.py`` (one photo panned, 16 frames of
1280x720 per degradation), computed once; then for each setting, SOC adapts a fresh copy of the
shared checkpoint on each clip and the adapted network is scored in memory: the change of the
clips' MSE and flicker, and of the 41 dev photos' MSE (the worst clip's weights).

Usage: python scripts/benchmarks/sweep_soc.py [--shared ../shared] [--frames 16]
       "epochs=3" "epochs=3 anchor_weight=1" "epochs=1 freeze_backbone=True" ...
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
    change,
    clip_scores,
    dev_mse,
    dev_photos,
    dis_flows,
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
    dev_original = dev_mse(original, photos)
    clips = {}
    for name in args.degradations:
        rng = np.random.default_rng(0)
        frames = [DEGRADATIONS[name](f, rng) for f in clip.frames()]
        flows = dis_flows(frames)
        clips[name] = (frames, flows, clip_scores(original, frames, truths, flows))
    print(f"Dev photos MSE with the original weights: {dev_original:.5f}", flush=True)
    columns = [f"{name} MSE / flicker" for name in clips]
    columns += ["mean MSE", "mean flicker", "dev photos MSE (worst)", "adapt s"]
    print("\n| setting | " + " | ".join(columns) + " |")
    print("| --- |" + " --- |" * (len(clips) + 4))
    for text in args.settings:
        settings = SOCSettings(progress=False, **parse_setting(text))
        cells, before, after, dev_changes, seconds = [], [], [], [], 0.0
        for name, (frames, flows, scores) in clips.items():
            network, heads, _, _ = load_for_soc(checkpoint)
            report = adapt_network(
                network, heads, read_frames(frames, settings.working_size), settings
            )
            adapted = clip_scores(network.eval(), frames, truths, flows)
            before.append(scores)
            after.append(adapted)
            dev_changes.append(change(dev_mse(network, photos), dev_original))
            seconds += report.seconds
            print(
                f"  {text}, {name}: MSE {change(adapted['MSE'], scores['MSE']):+.1%}, flicker "
                f"{change(adapted['flicker'], scores['flicker']):+.1%}, dev photos "
                f"{dev_changes[-1]:+.1%}, adapted in {report.seconds:.0f} s",
                file=sys.stderr,
                flush=True,
            )
            cells.append(
                f"{change(adapted['MSE'], scores['MSE']):+.1%} / "
                f"{change(adapted['flicker'], scores['flicker']):+.1%}"
            )
        mean = {
            key: change(np.mean([a[key] for a in after]), np.mean([b[key] for b in before]))
            for key in ("MSE", "flicker")
        }
        print(
            f"| {text} | {' | '.join(cells)} | {mean['MSE']:+.1%} | {mean['flicker']:+.1%} "
            f"| {max(dev_changes):+.1%} | {seconds:.0f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
