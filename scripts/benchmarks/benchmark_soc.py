"""SOC adaptation: matting errors and flicker before and after adapting, on degraded footage.

Clips: the synthetic clips of ``synthetic_clips.py`` (a virtual camera over PPM-100 dev photos,
1280x720, exact ground truth), rendered as a camera would degrade them (``DEGRADATIONS``: low
light with sensor noise, a colour cast, motion blur, heavy JPEG). For each clip, SOC adapts the
shared checkpoint on the clip's own frames, without labels (``modnet.soc.adapt``); then every
frame is matted at input size 512 (short side) with the original and with the adapted weights.

Measures, alphas in [0, 1]: MSE and MAD against the ground truth (mean over pixels, then frames)
and the flow-aligned flicker of ``benchmark_video.py`` (the DIS flow between consecutive
frames, computed once per clip on the degraded frames). Then what adapting costs elsewhere: the
41 dev photos (short side 512, sides floored to multiples of 32, area resizing), MSE at the
network's resolution, with each clip's adapted weights against the original's. With ``--time``,
the seconds to adapt a 300-frame 1280x720 clip at the working size.

Usage: python scripts/benchmarks/benchmark_soc.py [--shared ../shared] [--frames 16] [--epochs 3]
       [--working-size 256] [--learning-rate 1e-5] [--freeze-backbone] [--anchor-weight 0]
       [--average-decay 0] [--photos STEM ...] [--motions pan ...]
       [--degradations low-light ...] [--time]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import torch
from benchmark_video import BACKDROPS, PHOTOS

from matting_metrics import mad, mse
from synthetic_clips import synthetic_clip
from video_scoring import Warper, mean_abs_inside

REPO = Path(__file__).resolve().parents[2]
WEIGHTS_NAME = "modnet_photographic_portrait_matting.ckpt"
INPUT_SIZE = 512
TARGET_MSE_CUT = 0.10
TARGET_WORST_CLIP = 0.02
TARGET_DEV_PHOTOS = 0.05
TARGET_SECONDS = 600.0


def low_light(frame: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A third of the light, sensor noise and the camera's gain brought back up."""
    dark = frame.astype(np.float32) * 0.3 + rng.normal(0.0, 6.0, frame.shape)
    return np.clip(dark * 2.2, 0, 255).astype(np.uint8)


def colour_cast(frame: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A warm white balance: red up, blue down, a little haze."""
    cast = frame.astype(np.float32) * (1.25, 1.0, 0.7) + (10.0, 5.0, 0.0)
    return np.clip(cast, 0, 255).astype(np.uint8)


def motion_blur(frame: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A horizontal blur of 15 pixels, as a slow shutter and a moving camera give."""
    kernel = np.full((1, 15), 1.0 / 15, np.float32)
    return cv2.filter2D(frame, -1, kernel, borderType=cv2.BORDER_REFLECT101)


def heavy_jpeg(frame: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """JPEG at quality 12: blocks and ringing around every edge."""
    _, data = cv2.imencode(".jpg", frame[..., ::-1], (cv2.IMWRITE_JPEG_QUALITY, 12))
    return np.ascontiguousarray(cv2.imdecode(data, cv2.IMREAD_COLOR)[..., ::-1])


DEGRADATIONS: dict[str, Callable[[np.ndarray, np.random.Generator], np.ndarray]] = {
    "low-light": low_light,
    "colour-cast": colour_cast,
    "motion-blur": motion_blur,
    "jpeg": heavy_jpeg,
}


@torch.no_grad()
def alpha(network, rgb: np.ndarray) -> np.ndarray:
    """The network's float alpha of ``rgb`` at input size 512, at the network's resolution."""
    from modnet import network_size

    height, width = network_size(*rgb.shape[:2], INPUT_SIZE)
    small = cv2.resize(rgb, (width, height), interpolation=cv2.INTER_AREA)
    x = torch.from_numpy(small.transpose(2, 0, 1)[None].astype(np.float32) / 127.5 - 1.0)
    return network(x)[0, 0].numpy()


def clip_scores(network, frames, truths, flows) -> dict[str, float]:
    """MSE, MAD (at the frames' size) and flow-aligned flicker of ``network``'s mattes."""
    height, width = frames[0].shape[:2]
    warper, previous = Warper(height, width), None
    scores: dict[str, list[float]] = {"MSE": [], "MAD": [], "flicker": []}
    for t, (frame, truth) in enumerate(zip(frames, truths, strict=True)):
        matte = cv2.resize(alpha(network, frame), (width, height), interpolation=cv2.INTER_LINEAR)
        scores["MSE"].append(mse(matte, truth))
        scores["MAD"].append(mad(matte, truth))
        if previous is not None:
            warped, inside = warper.along_flow(previous, flows[t])
            scores["flicker"].append(mean_abs_inside(matte, warped, inside))
        previous = matte
    return {name: float(np.mean(values)) for name, values in scores.items()}


def dis_flows(frames: list[np.ndarray]) -> dict[int, np.ndarray]:
    """Frame t -> the DIS flow from frame t to frame t - 1 (as in benchmark_video.py)."""
    flow = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
    greys = [cv2.cvtColor(f, cv2.COLOR_RGB2GRAY) for f in frames]
    return {t: flow.calc(greys[t], greys[t - 1], None) for t in range(1, len(greys))}


def dev_photos(folder: Path) -> list[tuple[np.ndarray, np.ndarray]]:
    """(photo, truth) of each dev pair, both area-resized to the network's size at 512."""
    from modnet import network_size

    pairs = []
    for image_path in sorted((folder / "image").glob("*.jpg")):
        photo = cv2.imread(str(image_path), cv2.IMREAD_COLOR)[..., ::-1]
        truth = cv2.imread(str(folder / "alpha" / image_path.name), cv2.IMREAD_GRAYSCALE)
        height, width = network_size(*photo.shape[:2], INPUT_SIZE)
        size = (width, height)
        pairs.append(
            (
                cv2.resize(photo, size, interpolation=cv2.INTER_AREA),
                cv2.resize(truth, size, interpolation=cv2.INTER_AREA).astype(np.float32) / 255,
            )
        )
    return pairs


def dev_scores(network, pairs) -> dict[str, float]:
    """MSE and MAD of ``network``'s mattes of the dev ``pairs``, at the network's resolution."""
    mattes = [(alpha(network, photo), truth) for photo, truth in pairs]
    return {
        "MSE": float(np.mean([mse(matte, truth) for matte, truth in mattes])),
        "MAD": float(np.mean([mad(matte, truth) for matte, truth in mattes])),
    }


def change(value: float, reference: float) -> float:
    return value / reference - 1.0


def changes(after: dict[str, float], before: dict[str, float]) -> dict[str, float]:
    """The relative change of each score from ``before`` to ``after``."""
    return {name: change(after[name], before[name]) for name in before}


def mean_changes(rows: list[dict]) -> dict[str, float]:
    """The change of each score's mean over the clips (``rows`` of "before" and "after")."""
    means = {
        side: {name: float(np.mean([r[side][name] for r in rows])) for name in rows[0][side]}
        for side in ("before", "after")
    }
    return changes(means["after"], means["before"])


def adapted_network(checkpoint: Path, frames: list[np.ndarray], settings, out: Path):
    from modnet import load_checkpoint
    from modnet.soc import adapt

    report = adapt(checkpoint, frames, out, settings)
    return load_checkpoint(out).eval(), report


def time_long_clip(args, checkpoint: Path, pairs: dict, settings, folder: Path) -> float:
    """Seconds to adapt a 300-frame 1280x720 clip (frames read, resized and adapted on)."""
    from modnet.soc import adapt

    clip = synthetic_clip(*pairs[args.photos[0]], "pan", 300)
    long_settings = replace(settings, epochs=1)
    start = time.perf_counter()
    adapt(checkpoint, clip.frames(), folder / "long.ckpt", long_settings)
    return time.perf_counter() - start


def target_checks(rows: list[dict], dev_changes: list[float]) -> list[tuple[str, float, bool]]:
    """(target, measured change, met) of the quality targets, from the clips' ``rows`` and the
    dev photos' MSE change with each clip's weights."""
    mse_changes = [change(row["after"]["MSE"], row["before"]["MSE"]) for row in rows]
    means = mean_changes(rows)
    mean_change, flicker_change = means["MSE"], means["flicker"]
    return [
        (f"mean MSE -{TARGET_MSE_CUT:.0%} or better", mean_change, mean_change <= -TARGET_MSE_CUT),
        (
            f"no clip's MSE worse by > {TARGET_WORST_CLIP:.0%}",
            max(mse_changes),
            max(mse_changes) <= TARGET_WORST_CLIP,
        ),
        ("mean flicker not higher", flicker_change, flicker_change <= 0),
        (
            f"dev photos MSE at most +{TARGET_DEV_PHOTOS:.0%} (worst clip's weights)",
            max(dev_changes),
            max(dev_changes) <= TARGET_DEV_PHOTOS,
        ),
    ]


def print_targets(rows: list[dict], dev_changes: list[float], seconds: float | None) -> None:
    print("\n## Targets\n\n| target | measured | |\n| --- | --- | --- |")
    for label, value, met in target_checks(rows, dev_changes):
        print(f"| {label} | {value:+.1%} | {'met' if met else 'NOT met'} |")
    if seconds is not None:
        met = "met" if seconds <= TARGET_SECONDS else "NOT met"
        print(f"| 300-frame 1280x720 clip in <= {TARGET_SECONDS:.0f} s | {seconds:.0f} s | {met} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=REPO.parent / "shared")
    parser.add_argument("--frames", type=int, default=16, help="frames per clip")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--working-size", type=int, default=256)
    parser.add_argument("--learning-rate", type=float, default=1e-5)
    parser.add_argument("--freeze-backbone", action=argparse.BooleanOptionalAction, default=False)
    parser.add_argument("--anchor-weight", type=float, default=0.0)
    parser.add_argument("--average-decay", type=float, default=0.0)
    parser.add_argument("--photos", nargs="*", default=list(PHOTOS[:1]), help="PPM-100 dev stems")
    parser.add_argument("--motions", nargs="*", default=["pan"], help="see synthetic_clips.py")
    parser.add_argument("--degradations", nargs="*", default=list(DEGRADATIONS))
    parser.add_argument("--time", action="store_true", help="also time a 300-frame 720p clip")
    args = parser.parse_args()

    sys.path.insert(0, str(REPO))  # the core, importable without installing the plugin
    from modnet import load_checkpoint
    from modnet.soc import SOCSettings

    torch.manual_seed(0)
    start = time.perf_counter()
    checkpoint = args.shared / "models" / WEIGHTS_NAME
    dev = args.shared / "data" / "ppm100-dev"
    pairs = {
        stem: (dev / "image" / f"{stem}.jpg", dev / "alpha" / f"{stem}.jpg")
        for stem in [*args.photos, *BACKDROPS]
    }
    settings = SOCSettings(
        epochs=args.epochs,
        working_size=args.working_size,
        learning_rate=args.learning_rate,
        freeze_backbone=args.freeze_backbone,
        anchor_weight=args.anchor_weight,
        average_decay=args.average_decay,
        progress=False,
    )
    original = load_checkpoint(checkpoint).eval()
    photos = dev_photos(dev)
    dev_original = dev_scores(original, photos)["MSE"]
    print(f"CPU threads: {torch.get_num_threads()}. {settings}\n")
    print(
        "| clip | MSE before | MSE after | MAD before | MAD after | flicker before "
        "| flicker after | dev photos MSE | adapt s |"
    )
    print("| --- |" + " --- |" * 8)
    rows, dev_changes = [], []
    with tempfile.TemporaryDirectory(prefix="soc-benchmark-") as folder:
        for photo in args.photos:
            for motion in args.motions:
                clip = synthetic_clip(
                    *pairs[photo], motion, args.frames, backdrop=pairs[BACKDROPS[0]]
                )
                truths = [clip.truth(t) for t in range(len(clip))]
                for degradation in args.degradations:
                    rng = np.random.default_rng(0)
                    frames = [DEGRADATIONS[degradation](f, rng) for f in clip.frames()]
                    flows = dis_flows(frames)
                    adapted, report = adapted_network(
                        checkpoint, frames, settings, Path(folder) / "adapted.ckpt"
                    )
                    row = {
                        "before": clip_scores(original, frames, truths, flows),
                        "after": clip_scores(adapted, frames, truths, flows),
                    }
                    rows.append(row)
                    dev_changes.append(change(dev_scores(adapted, photos)["MSE"], dev_original))
                    b, a = row["before"], row["after"]
                    print(
                        f"| {clip.name} {degradation} | {b['MSE']:.5f} | {a['MSE']:.5f} "
                        f"({change(a['MSE'], b['MSE']):+.1%}) | {b['MAD']:.5f} | {a['MAD']:.5f} "
                        f"| {b['flicker']:.5f} | {a['flicker']:.5f} "
                        f"({change(a['flicker'], b['flicker']):+.1%}) "
                        f"| {dev_changes[-1]:+.1%} | {report.seconds:.0f} |",
                        flush=True,
                    )
        print(f"\nDev photos MSE with the original weights: {dev_original:.5f}")
        seconds = (
            time_long_clip(args, checkpoint, pairs, settings, Path(folder)) if args.time else None
        )
    print_targets(rows, dev_changes, seconds)
    print(f"\nBenchmark run time: {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
