"""The network's time against the distance between the two CPUs it runs on, round by round.

On a virtual machine the host decides, and changes over time, whether two virtual CPUs run on
cores that share a cache. Each round measures that distance (the cache-line round trip of
``scripts/benchmarks/core_to_core.c``, built here with gcc) and then, in a fresh process, the
median time of the network (the default runtime and precision) on one 512x768 input, and again
in a process held to CPU 0 alone, which no placement affects. The distance is measured before
and after the two-CPU network time, so that a round in which the host moved the CPUs shows it.

Usage: python scripts/benchmarks/benchmark_cpu_distance.py [--shared ../shared] [--rounds N]
       [--calls N]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from plugin_env import REPO, temporary_folder

WEIGHTS_NAME = "modnet_photographic_portrait_matting.ckpt"
NETWORK_INPUT = (512, 768)  # height, width: a 2:3 photo at the default input size


def build_core_to_core(folder: Path) -> Path:
    binary = folder / "core_to_core"
    source = REPO / "scripts" / "benchmarks" / "core_to_core.c"
    subprocess.run(["gcc", "-O2", "-pthread", str(source), "-o", str(binary)], check=True)
    return binary


def round_trip_ns(binary: Path) -> float:
    """The mean round trip between CPUs 0 and 1, from the program's one line of output."""
    line = subprocess.run([str(binary)], check=True, capture_output=True, text=True).stdout
    return float(line.split("round trip ")[1].split()[0])


def network_times(weights: Path, cache: Path, calls: int) -> dict:
    """Runs in a process of its own: the network's median and minimum seconds per call."""
    from modnet import MattingSession

    session = MattingSession(weights, cache_dir=cache)
    x = np.random.default_rng(0).uniform(-1, 1, (1, 3, *NETWORK_INPUT)).astype(np.float32)
    for _ in range(2):
        session.network(x)
    seconds = []
    for _ in range(calls):
        start = time.perf_counter()
        session.network(x)
        seconds.append(time.perf_counter() - start)
    return {
        "runtime": f"{session.backend} {session.precision}",
        "median": statistics.median(seconds),
        "min": min(seconds),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=REPO.parent / "shared")
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--calls", type=int, default=8, help="timed network calls per round")
    parser.add_argument("--network-only", type=Path, help=argparse.SUPPRESS)  # the cache
    parser.add_argument("--one-cpu", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one_cpu:
        os.sched_setaffinity(0, {0})  # before the runtime sizes its thread pool
    sys.path.insert(0, str(REPO))  # the core package, importable without Ikomia
    weights = (args.shared / "models" / WEIGHTS_NAME).resolve()
    if args.network_only:
        print(json.dumps(network_times(weights, args.network_only, args.calls)))
        return

    scratch = temporary_folder("modnet-cpu-distance-")
    binary = build_core_to_core(scratch)
    command = [sys.executable, __file__, "--shared", str(args.shared), "--calls", str(args.calls)]
    command += ["--network-only", str(scratch / "cache")]
    subprocess.run(command, check=True, capture_output=True)  # builds the cached conversions
    from modnet.runtime.cpu import cpu_name

    print(f"# CPU distance and network time ({cpu_name()}, {os.cpu_count()} CPUs)\n")
    print(
        "| round | CPU 0-1 round trip before, after (ns) | runtime | network median ms "
        "| min ms | on CPU 0 alone: median ms |"
    )
    print("| --- | --- | --- | --- | --- | --- |")
    for round_number in range(1, args.rounds + 1):
        before = round_trip_ns(binary)
        times = run_network(command)
        after = round_trip_ns(binary)
        alone = run_network([*command, "--one-cpu"])
        print(
            f"| {round_number} | {before:.0f}, {after:.0f} | {times['runtime']} "
            f"| {times['median'] * 1e3:.1f} | {times['min'] * 1e3:.1f} "
            f"| {alone['median'] * 1e3:.1f} |",
            flush=True,
        )


def run_network(command: list[str]) -> dict:
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return json.loads(output.strip().splitlines()[-1])


if __name__ == "__main__":
    main()
