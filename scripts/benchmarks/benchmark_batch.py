"""Throughput, memory and resumability of the batch runner (``python -m modnet.batch``).

Builds ``--count`` photos from the PPM-100 dev photos and the bundled sample, resized to sizes
spread log-uniformly from 0.3 to 24 megapixels, plus a few broken files, in a temporary folder;
then runs, each in a process of its own, (a) a bare loop over ``MattingSession.predict`` making
the same outputs, (b) the local engine, (c) the Ray engine on this machine (one Ray node started
for it). Prints images/s side by side, the peak resident memory of each run's whole process tree
(Ray's daemons and workers included), the per-stage times, a check that the three wrote the
same bytes, and a kill-and-resume check (SIGKILL at a random point, then a rerun). With
``--two-nodes``, runs the Ray engine again on two Ray nodes started on this machine. Each
run's outputs are reduced to digests and deleted as soon as it ends, and the temporary folder
at the end, so that the disk holds the photos and one run's outputs. The issue-sized run, a
thousand photos, bare loop against the local engine only (``--runs``, ``--no-resume``)::

    python scripts/benchmarks/benchmark_batch.py --count 60 [--input-size 512] [--two-nodes]
    python scripts/benchmarks/benchmark_batch.py --count 1000 --runs bare,local --no-resume
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import cv2

from plugin_env import REPO

sys.path.insert(0, str(REPO))  # the core package, importable without Ikomia
from batch_benchmark_support import (
    bare_loop,
    output_bytes,
    ray_cluster,
    ray_nodes,
    run_measured,
)

SHARED = REPO.parent / "shared"
CHECKPOINT = SHARED / "models" / "modnet_photographic_portrait_matting.ckpt"
SOURCES = [*sorted((SHARED / "data" / "ppm100-dev" / "image").glob("*.jpg")),
           REPO / "samples" / "astronaut.png"]  # fmt: skip
BROKEN = {"broken/zero.jpg": b"", "broken/text.jpg": b"not a photo\n"}
MIN_MEGAPIXELS, MAX_MEGAPIXELS = 0.3, 24.0


def build_photos(folder: Path, count: int, seed: int) -> list[float]:
    """``count`` JPEG photos of sizes log-uniform in [0.3, 24] MP, and the broken files
    (including one truncated JPEG); returns the photos' megapixels."""
    rng = random.Random(seed)
    sizes = []
    for index in range(count):
        source = cv2.imread(str(SOURCES[index % len(SOURCES)]), cv2.IMREAD_COLOR)
        megapixels = math.exp(rng.uniform(math.log(MIN_MEGAPIXELS), math.log(MAX_MEGAPIXELS)))
        scale = math.sqrt(megapixels * 1e6 / (source.shape[0] * source.shape[1]))
        size = (round(source.shape[1] * scale), round(source.shape[0] * scale))
        interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
        photo = cv2.resize(source, size, interpolation=interpolation)
        path = folder / f"group{index % 4}" / f"photo{index:04d}.jpg"
        path.parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(path), photo, [cv2.IMWRITE_JPEG_QUALITY, 90])
        sizes.append(size[0] * size[1] / 1e6)
    for name, data in BROKEN.items():
        (folder / name).parent.mkdir(exist_ok=True)
        (folder / name).write_bytes(data)
    (folder / "broken" / "truncated.jpg").write_bytes(path.read_bytes()[:20000])
    return sizes


def cli(source: Path, output: Path, flags: list[str], *extra: str) -> list[str]:
    return [sys.executable, "-m", "modnet.batch", str(source), str(output), *flags, *extra,
            "--no-progress"]  # fmt: skip


def report(name: str, run: dict, baseline: float | None) -> None:
    summary = run["summary"]
    rate = summary["images_per_second"]
    ratio = f"{rate / baseline:.3f}" if baseline else "-"
    processed = summary["done"] + summary["failed"]
    print(
        f"{name:<10} {processed:>5} {summary['failed']:>6} {rate:>8.3f} {ratio:>7} "
        f"{processed / run['wall']:>9.3f} {run['peak_mib']:>9.0f}"
    )


def stage_table(runs: dict[str, dict]) -> None:
    if not runs:
        return
    stages = list(next(iter(runs.values()))["summary"]["stage_seconds"])
    print("\nper-stage time, ms per photo (summed over threads/actors):")
    print(f"{'stage':<11}" + "".join(f"{name:>10}" for name in runs))
    for stage in stages:
        cells = []
        for run in runs.values():
            summary = run["summary"]
            count = max(1, summary["done"] + summary["failed"])
            cells.append(f"{1000 * summary['stage_seconds'].get(stage, 0.0) / count:>10.1f}")
        print(f"{stage:<11}" + "".join(cells))


def kill_and_resume(source: Path, output: Path, flags: list[str], after_s: float) -> dict:
    """Runs the local engine, SIGKILLs it ``after_s`` seconds in, then resumes it."""
    process = subprocess.Popen(cli(source, output, flags), cwd=REPO, stdout=subprocess.DEVNULL)
    time.sleep(after_s)
    process.send_signal(signal.SIGKILL)
    process.wait()
    manifest = output / "manifest.jsonl"
    recorded = manifest.read_bytes().count(b"\n") if manifest.is_file() else 0
    resumed = subprocess.run(cli(source, output, flags), cwd=REPO, capture_output=True, text=True)
    return {"recorded_before_kill": recorded, "summary": json.loads(resumed.stdout),
            "exit": resumed.returncode}  # fmt: skip


@contextmanager
def temporary_folder() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="modnet-batch-bench-") as folder:
        yield Path(folder)


RUNS = ("bare", "local", "ray")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=60, help="photos (plus 3 broken files)")
    parser.add_argument("--input-size", type=int, default=512)
    parser.add_argument("--backend", default="onnxruntime")
    parser.add_argument("--runs", default=",".join(RUNS), help="of bare,local,ray")
    parser.add_argument("--concurrency", type=int, default=2, help="Ray actors")
    parser.add_argument("--actor-cpus", type=int, default=1, help="CPUs each Ray actor reserves")
    parser.add_argument("--no-resume", action="store_true", help="no kill-and-resume check")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--two-nodes", action="store_true")
    parser.add_argument("--bare", nargs=2, metavar=("INPUT", "OUTPUT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    args.runs = [run for run in RUNS if run in args.runs.split(",")]
    return args


def measured(name: str, command: list[str], output: Path, digests: dict, marker=None) -> dict:
    """Runs ``command`` measured, keeps the digests of what it wrote in ``digests[name]`` and
    deletes its outputs, so that the disk holds one run's outputs at a time."""
    run = run_measured(command, marker)
    digests[name] = output_bytes(output)
    shutil.rmtree(output)
    return run


def main() -> None:
    args = parse_args()
    flags = ["--model-weight-file", str(CHECKPOINT), "--backend", args.backend,
             "--precision", "fp32", "--input-size", str(args.input_size)]  # fmt: skip
    if args.bare:
        print(json.dumps(bare_loop(Path(args.bare[0]), Path(args.bare[1]), flags)))
        return
    with temporary_folder() as work:
        source = work / "in"
        sizes = build_photos(source, args.count, args.seed)
        print(f"{args.count} photos, {min(sizes):.2f} to {max(sizes):.1f} MP (median "
              f"{sorted(sizes)[len(sizes) // 2]:.1f}), + {len(BROKEN) + 1} broken files; "
              f"input size {args.input_size}, backend {args.backend}; load average "
              f"{os.getloadavg()[0]:.1f}")  # fmt: skip
        runs: dict[str, dict] = {}
        digests: dict[str, dict] = {}
        if "bare" in args.runs:
            bare_command = [sys.executable, __file__, "--bare", str(source), str(work / "bare"),
                            "--input-size", str(args.input_size),
                            "--backend", args.backend]  # fmt: skip
            runs["bare loop"] = measured("bare", bare_command, work / "bare", digests)
        if "local" in args.runs:
            command = cli(source, work / "local", flags)
            runs["local"] = measured("local", command, work / "local", digests)
        ray_flags = ["--engine", "ray", "--concurrency", str(args.concurrency),
                     "--num-cpus", str(args.actor_cpus)]  # fmt: skip
        if "ray" in args.runs:
            with ray_cluster([os.cpu_count() or 2]) as (address, marker):
                command = cli(source, work / "ray", flags, *ray_flags, "--address", address)
                runs["ray"] = measured("ray", command, work / "ray", digests, marker)
        print("\nrun        images failed  img/s  ratio  img/s(wall)  peak MiB")
        print("           (img/s: after loading; ratio: to the bare loop; wall: whole process)")
        bare = runs.get("bare loop")
        baseline = bare["summary"]["images_per_second"] if bare else None
        for name, run in runs.items():
            report(name, run, baseline)
        if {"local", "ray"} <= set(runs):
            local_rate = runs["local"]["summary"]["images_per_second"]
            print(f"ray / local: {runs['ray']['summary']['images_per_second'] / local_rate:.3f}")
        stage_table({name: run for name, run in runs.items() if name != "bare loop"})
        reference = next(iter(digests.values()))
        print("\nsame bytes: " + ", ".join(f"{name} {digest == reference}"
              for name, digest in digests.items()) + f" ({len(reference)} files)")  # fmt: skip
        if not args.no_resume:
            resume_check(source, work / "killed", flags, runs, args, reference)
        if args.two_nodes:
            with ray_cluster([1, 1]) as (address, marker):
                nodes = ray_nodes(address)
                command = cli(source, work / "ray2", flags, *ray_flags, "--address", address)
                two = measured("ray2", command, work / "ray2", digests, marker)
            print(f"\ntwo Ray nodes ({nodes} alive): {two['summary']['images_per_second']:.3f} "
                  f"img/s, peak {two['peak_mib']:.0f} MiB, same bytes: "
                  f"{digests['ray2'] == reference}")  # fmt: skip
            stage_table({"ray2": two})


def resume_check(
    source: Path, output: Path, flags: list[str], runs: dict, args: argparse.Namespace,
    reference: dict,
) -> None:  # fmt: skip
    """SIGKILLs the local engine at a random point of a run's length, resumes it, and checks
    its outputs and manifest."""
    length = runs.get("local", next(iter(runs.values())))["wall"]
    after = random.Random(args.seed).uniform(0.2, 0.8) * length
    resumed = kill_and_resume(source, output, flags, after)
    lines = (output / "manifest.jsonl").read_text().splitlines()
    paths = [json.loads(line)["path"] for line in lines]
    once = sorted(paths) == sorted(set(paths)) and len(paths) == args.count + 3
    print(f"\nkill-and-resume: SIGKILL after {after:.1f} s, {resumed['recorded_before_kill']}"
          f" photos recorded; resumed: skipped {resumed['summary']['skipped']}, done "
          f"{resumed['summary']['done']}, failed {resumed['summary']['failed']}, exit "
          f"{resumed['exit']}; outputs identical to the uninterrupted run: "
          f"{output_bytes(output) == reference}; each input once in the "
          f"manifest: {once}")  # fmt: skip


if __name__ == "__main__":
    main()
