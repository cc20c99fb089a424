"""A 6000x4000 (24 MP) photo through the Ikomia Workflow in a subprocess of its own: peak RSS
and time relative to 1920x1280, beside a subprocess that only loads the session.

The photo is a real PPM-100 photo, decoded and resized before any timing; the two sizes are
interleaved round-robin after a warm-up and summarised by their median.

Usage: python scripts/benchmarks/benchmark_big_photo.py [--shared ../shared] [--repeats N]
       [--threads N]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

from speed_common import (
    E2E_SIZE,
    WEIGHTS_NAME,
    interleave_with_stages,
    mib,
    own_peak_kb,
    parse_args,
    peak_rss_kb,
    plugin_workflow_class,
    print_header,
    read_photo,
    setup_workflow,
    verdict,
)

BIG_SIZE = (6000, 4000)
BIG_REPEATS = 3
TARGET_PEAK_MIB = 1500.0
TARGET_BIG_RATIO = 2.0


def child_big(shared: Path, photo: Path) -> dict[str, Any]:
    """6000x4000 and 1920x1280 through the Workflow, interleaved; peak RSS at the end."""
    workflow, task = setup_workflow(shared, plugin_workflow_class())
    big, small = read_photo(photo, *BIG_SIZE), read_photo(photo, *E2E_SIZE)
    cases = {
        "big": lambda: workflow.run_on(array=big),
        "small": lambda: workflow.run_on(array=small),
    }
    times, big_stages = interleave_with_stages(task, cases, "big", warmup=1, repeats=BIG_REPEATS)
    return {
        "big": times["big"],
        "small": times["small"],
        "big_stages": {stage: statistics.median(v) for stage, v in big_stages.items()},
        "peak_kb": peak_rss_kb(),
        "inputs_kb": (big.nbytes + small.nbytes) // 1024,
    }


def child_baseline(shared: Path) -> dict[str, Any]:
    """Only imports Ikomia and loads the session as the task does."""
    setup_workflow(shared, plugin_workflow_class())
    from infer_modnet_portrait_matting.infer_modnet_portrait_matting_process import (
        WEIGHTS_FOLDER,
    )
    from infer_modnet_portrait_matting.modnet import MattingSession

    session = MattingSession(
        shared / "models" / WEIGHTS_NAME, "cpu", "auto", cache_dir=WEIGHTS_FOLDER
    )
    return {
        "session": f"{session.backend} {session.precision}",
        "peak_kb": peak_rss_kb(),
    }


def run_child(kind: str, args: argparse.Namespace) -> dict[str, Any]:
    command = [sys.executable, __file__, "--child", kind, "--shared", str(args.shared)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    if done.returncode or not lines:
        sys.stderr.write(done.stdout + done.stderr)
        raise RuntimeError(f"the '{kind}' subprocess failed with exit status {done.returncode}")
    return json.loads(lines[-1].removeprefix("RESULT "))


def big_table(args: argparse.Namespace) -> None:
    result = run_child("big", args)
    baseline = run_child("baseline", args)
    big, small = statistics.median(result["big"]), statistics.median(result["small"])
    peak, base = mib(own_peak_kb(result["peak_kb"])), mib(own_peak_kb(baseline["peak_kb"]))
    ratio = big / small
    (bw, bh), (sw, sh) = BIG_SIZE, E2E_SIZE

    print(f"## {bw}x{bh} ({bw * bh / 1e6:.0f} MP) through the Workflow, own subprocess\n")
    print(
        f"1 warm-up run each, then {BIG_REPEATS} runs each of {bw}x{bh} and {sw}x{sh}, "
        "interleaved. Peak RSS: the subprocess's own `VmHWM` at its end (its `ru_maxrss` "
        "also counts the benchmark process that spawned it, which Linux carries over `execve`).\n"
    )
    print("| measure | value | target | |")
    print("| --- | --- | --- | --- |")
    print(
        f"| peak RSS, {bw}x{bh} subprocess | {peak:.0f} MiB | < {TARGET_PEAK_MIB:.0f} MiB "
        f"| {verdict(peak < TARGET_PEAK_MIB)} |"
    )
    print(f"| peak RSS, baseline: imports + {baseline['session']} session | {base:.0f} MiB | | |")
    print(
        f"| added by the pipeline and the images (the input arrays: "
        f"{mib(result['inputs_kb']):.0f} MiB) | {peak - base:.0f} MiB | | |"
    )
    print(f"| median Workflow time, {bw}x{bh} | {big * 1e3:.0f} ms | | |")
    print(f"| median Workflow time, {sw}x{sh} | {small * 1e3:.0f} ms | | |")
    print(
        f"| time ratio {bw}x{bh} / {sw}x{sh} | {ratio:.2f} | <= {TARGET_BIG_RATIO:g} "
        f"| {verdict(ratio <= TARGET_BIG_RATIO)} |"
    )
    stages = ", ".join(f"{k} {v * 1e3:.0f}" for k, v in result["big_stages"].items())
    print(f"\n{bw}x{bh} stage medians (ms): {stages}")
    print(
        f"ru_maxrss (inflated by the parent): {bw}x{bh} "
        f"{mib(result['peak_kb']['ru_maxrss']):.0f} MiB, "
        f"baseline {mib(baseline['peak_kb']['ru_maxrss']):.0f} MiB"
    )


def main() -> None:
    def child(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--child", choices=("big", "baseline"), help=argparse.SUPPRESS)

    args = parse_args(__doc__.splitlines()[0], child)
    if args.child == "big":
        print("RESULT " + json.dumps(child_big(args.shared, args.photo)))
        return
    if args.child == "baseline":
        print("RESULT " + json.dumps(child_baseline(args.shared)))
        return
    plugin_workflow_class()  # puts the plugin's package on the path for the header
    print_header("MODNet 24-megapixel photo (CPU)", args.photo)
    big_table(args)


if __name__ == "__main__":
    main()
