"""Temporal stability of the mattes of videos: accuracy, flicker and cost of each temporal method.

Clips:
- synthetic clips with exact ground truth (see ``synthetic_clips.py``): a virtual camera pans,
  zooms or shakes over PPM-100 photos, 1280x720, ``--frames`` frames each;
- the real clips given with ``--videos`` (no ground truth): flicker only.

Every frame is matted once with ``modnet.MattingSession`` (the real weights, default settings:
input size 512, ``auto`` backend), and that same per-frame matte is pushed to every method
(``modnet.video.temporal``), frame after frame, so the methods are compared on identical mattes and
their costs are timed side by side with the matting of the same frames.

Measures, alphas in [0, 1]:
- MSE and MAD against the ground truth: mean over each frame's pixels, then over frames.
- Flow-aligned flicker: for each pair of consecutive frames t - 1 and t, the dense optical flow
  F from frame t to frame t - 1 is computed by OpenCV's DIS (preset MEDIUM, full resolution,
  grey frames); the flicker of frame t is the mean, over the pixels x of frame t whose flow
  target x + F(x) lies inside frame t - 1, of |alpha_t(x) - alpha_t-1(x + F(x))|, alpha_t-1
  sampled bilinearly; the clip's flicker is the mean over t = 1 .. n - 1. It counts a matte
  that changes where the picture does not; it cannot tell flicker from the flow's own errors,
  so the ground truth's flicker is printed as the floor.
- Exact-motion flicker (synthetic clips): the same with the camera's exact motion in place of
  the DIS flow, which no method sees, so a method cannot gain by agreeing with DIS.
- ms per frame: median time of a method's ``push`` per frame, beside the median time of
  ``MattingSession.predict`` on the same frames.

Usage: python scripts/benchmarks/benchmark_video.py [--shared ../shared] [--frames 60]
       [--photos STEM ...] [--backdrops STEM ...] [--videos PATH ...]

Defaults: 2 photos x 4 motions (pan, zoom, jitter, sway) x 60 frames and the two clips of
``../shared/data/videos`` (282 + 103 frames): 865 mattes, 15 minutes on 2 CPU cores shared with
other jobs (the time is printed at the end).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import numpy as np

from synthetic_clips import MOTIONS, synthetic_clip
from video_scoring import Clip, Judge, synthetic, video

if TYPE_CHECKING:
    from modnet.video.temporal import MatteFilter

REPO = Path(__file__).resolve().parents[2]
WEIGHTS_NAME = "modnet_photographic_portrait_matting.ckpt"
PHOTOS = ("16731963546_3148ea2b33_o", "17464489461_0e158881db_o")
# Photos with a large part free of people: the backdrops of the swaying persons.
BACKDROPS = ("14996438642_58c976f957_o", "4814717217_51bd4859dc_o")

TARGET_FLICKER_CUT = 0.35  # stable: at least 35% less flicker than per-frame mattes
TARGET_COST_SHARE = 0.25  # stable: under 25% of the per-frame matte time


# --- one clip, every method in lockstep -----------------------------------------------------


def evaluate(
    clip: Clip, session, methods: dict[str, Callable[[], MatteFilter]]
) -> tuple[dict[str, dict[str, float]], list[float], tuple[int, int]]:
    """Mattes each frame once and pushes it to every method. Returns each method's scores
    (plus "ground truth" for synthetic clips), the matting seconds of each frame and the
    frame size (height, width)."""
    filters = {name: make() for name, make in methods.items()}
    judges: dict[str, Judge] = {}
    flow = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
    flows: dict[int, np.ndarray] = {}  # frame t -> flow from frame t to frame t - 1
    truths: dict[int, np.ndarray] = {}
    matting: list[float] = []
    previous_grey = None
    size = (0, 0)
    for t, frame in enumerate(clip.frames()):
        frame.setflags(write=False)  # a method that wrote into its input would fail here
        start = time.perf_counter()
        matte = session.predict(frame).matte
        matting.append(time.perf_counter() - start)
        matte.setflags(write=False)
        if not judges:
            size = matte.shape
            judges = {name: Judge(clip, *size) for name in [*filters, "ground truth"]}
        grey = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)
        if previous_grey is not None:
            flows[t] = flow.calc(grey, previous_grey, None)
        previous_grey = grey
        if clip.truth is not None:
            truths[t] = clip.truth(t)
            judges["ground truth"].score(truths[t], flows, truths)
        for name, filter_ in filters.items():
            start = time.perf_counter()
            out = filter_.push(frame, matte)
            judges[name].scores.seconds.append(time.perf_counter() - start)
            if out is not None:
                judges[name].score(out / 255.0, flows, truths)
        # Methods lag at most one frame: older flows and truths are no longer needed.
        for old in [k for k in flows if k < t - 1]:
            del flows[old]
        for old in [k for k in truths if k < t - 1]:
            del truths[old]
    for name, filter_ in filters.items():
        for out in filter_.flush():
            judges[name].score(out / 255.0, flows, truths)
    scores = {name: judge.scores.row() for name, judge in judges.items()}
    if clip.truth is None:
        del scores["ground truth"]
    return scores, matting, size


# --- tables ---------------------------------------------------------------------------------


def change(value: float, reference: float) -> str:
    return f"{100.0 * (value / reference - 1.0):+.1f}%"


def clip_table(name: str, scores: dict[str, dict[str, float]]) -> None:
    columns = [c for c in ("MSE", "MAD", "flicker", "exact-motion flicker") if c in scores["none"]]
    print(f"### {name}\n")
    print("| method | " + " | ".join(columns) + " | ms/frame |")
    print("| --- |" + " --- |" * (len(columns) + 1))
    for method, row in scores.items():
        cells = [
            f"{row[c]:.6f}"
            + (
                ""
                if method in ("none", "ground truth")
                else f" ({change(row[c], scores['none'][c])})"
            )
            for c in columns
            if c in row
        ]
        cells += [""] * (len(columns) - len(cells))
        ms = f"{row['ms/frame']:.1f}" if "ms/frame" in row else ""
        print(f"| {method} | " + " | ".join(cells) + f" | {ms} |")
    print()


def verdict(met: bool) -> str:
    return "met" if met else "NOT met"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=REPO.parent / "shared")
    parser.add_argument("--frames", type=int, default=60, help="frames per synthetic clip")
    parser.add_argument("--photos", nargs="*", default=list(PHOTOS), help="PPM-100 dev stems")
    parser.add_argument(
        "--backdrops",
        nargs="*",
        default=list(BACKDROPS),
        help="PPM-100 dev stems whose background is behind the swaying person of each photo",
    )
    parser.add_argument("--videos", nargs="*", type=Path, help="default: shared/data/videos/*.mp4")
    args = parser.parse_args()

    sys.path.insert(0, str(REPO))  # the core, importable without installing the plugin
    from modnet import MattingSession
    from modnet.video.temporal import TEMPORAL_METHODS, create_filter

    dev = args.shared / "data" / "ppm100-dev"
    pairs = {
        stem: (dev / "image" / f"{stem}.jpg", dev / "alpha" / f"{stem}.jpg")
        for stem in [*args.photos, *args.backdrops]
    }
    clips = [
        synthetic(synthetic_clip(*pairs[photo], motion, args.frames, backdrop=pairs[backdrop]))
        for photo, backdrop in zip(args.photos, args.backdrops, strict=True)
        for motion in MOTIONS
    ]
    videos = (
        args.videos
        if args.videos is not None
        else sorted((args.shared / "data" / "videos").glob("*.mp4"))
    )
    clips += [video(path) for path in videos]

    session = MattingSession(
        args.shared / "models" / WEIGHTS_NAME,
        cache_dir=Path(tempfile.gettempdir()) / "modnet-benchmark",
    )
    methods = {method: (lambda method=method: create_filter(method)) for method in TEMPORAL_METHODS}
    print(f"Backend: {session.backend}. Methods: {', '.join(methods)}.\n")
    start = time.perf_counter()
    results = {}
    for clip in clips:
        scores, matting, size = evaluate(clip, session, methods)
        results[clip.name] = (scores, matting, size)
        matte_ms = 1e3 * statistics.median(matting)
        title = f"{clip.name}: {size[1]}x{size[0]}, {len(matting)} frames"
        clip_table(f"{title}, matte {matte_ms:.0f} ms/frame", scores)
    summary(results)
    print(f"\nBenchmark run time: {time.perf_counter() - start:.0f} s")


def relative(scores: dict[str, dict[str, float]], method: str, measure: str) -> float:
    """``method``'s ``measure`` relative to the per-frame mattes': -0.4 is 40% lower."""
    return scores[method][measure] / scores["none"][measure] - 1.0


def summary(
    results: dict[str, tuple[dict[str, dict[str, float]], list[float], tuple[int, int]]],
) -> None:
    """Changes against per-frame mattes, cost at 1280x720, and the targets of ``stable``."""
    synthetic_clips = {n: s for n, (s, _, _) in results.items() if "MSE" in s["none"]}
    real_clips = {n: s for n, (s, _, _) in results.items() if "MSE" not in s["none"]}
    methods = [m for m in next(iter(results.values()))[0] if m not in ("none", "ground truth")]

    print("## Summary: change against per-frame mattes (none)\n")
    columns = ["synthetic MSE, mean (worst)", "synthetic flicker, mean (worst)"]
    columns += [f"{name} flicker" for name in real_clips]
    print("| method | " + " | ".join(columns) + " |")
    print("| --- |" + " --- |" * len(columns))
    for method in methods:
        cells = []
        for measure in ("MSE", "flicker"):
            changes = [relative(s, method, measure) for s in synthetic_clips.values()]
            cells.append(f"{np.mean(changes):+.1%} ({max(changes):+.1%})" if changes else "")
        cells += [f"{relative(s, method, 'flicker'):+.1%}" for s in real_clips.values()]
        print(f"| {method} | " + " | ".join(cells) + " |")

    # Cost: on every 1280x720 clip, each method's time per frame beside the matting of the
    # same frames, in the same run.
    hd = [(s, matting) for s, matting, size in results.values() if size == (720, 1280)]
    matte_ms = 1e3 * statistics.median([t for _, matting in hd for t in matting])
    print(f"\n## Cost at 1280x720 ({sum(len(m) for _, m in hd)} frames)\n")
    print(f"| method | median ms/frame | share of the per-frame matte ({matte_ms:.1f} ms) |")
    print("| --- | --- | --- |")
    shares = {}
    for method in methods:
        ms = statistics.median([s[method]["ms/frame"] for s, _ in hd])
        shares[method] = ms / matte_ms
        print(f"| {method} | {ms:.1f} | {shares[method]:.1%} |")

    checks = []
    for name, s in synthetic_clips.items():
        flicker = relative(s, "stable", "flicker")
        checks.append(
            (
                f"flicker -{TARGET_FLICKER_CUT:.0%} or better on {name}",
                flicker,
                flicker <= -TARGET_FLICKER_CUT,
            )
        )
        mse = relative(s, "stable", "MSE")
        checks.append((f"MSE lower on {name}", mse, mse < 0))
    if "talking_720p.mp4" in real_clips:
        flicker = relative(real_clips["talking_720p.mp4"], "stable", "flicker")
        checks.append(
            (
                f"flicker -{TARGET_FLICKER_CUT:.0%} or better on talking_720p.mp4",
                flicker,
                flicker <= -TARGET_FLICKER_CUT,
            )
        )
    if "fullbody_720x1080.mp4" in real_clips:
        flicker = relative(real_clips["fullbody_720x1080.mp4"], "stable", "flicker")
        checks.append(("flicker not raised on fullbody_720x1080.mp4", flicker, flicker <= 0))
    print("\n## Targets of stable\n")
    print("| target | measured | |")
    print("| --- | --- | --- |")
    for label, value, met in checks:
        print(f"| {label} | {value:+.1%} | {verdict(met)} |")
    share, met = shares["stable"], shares["stable"] < TARGET_COST_SHARE
    target = f"cost < {TARGET_COST_SHARE:.0%} of the matte at 1280x720"
    print(f"| {target} | {share:.1%} | {verdict(met)} |")


if __name__ == "__main__":
    main()
