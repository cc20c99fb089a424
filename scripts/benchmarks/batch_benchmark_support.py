"""Helpers of ``benchmark_batch.py``: the bare loop it compares with, memory of a process tree,
and Ray nodes started on this machine."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from modnet import MattingSession, cutout, estimate_foreground, replace_background, select_device
from modnet.batch.cli import build_parser, options_from
from modnet.batch.decode import DecodeError, decode_image
from modnet.batch.inputs import collect_inputs
from modnet.batch.outputs import OutputLayout, encode
from plugin_env import REPO

POLL_S = 0.2


def bare_loop(source: Path, output: Path, flags: list[str]) -> dict:
    """What a user would write: one photo after the other through ``MattingSession.predict``,
    with the same decoder, outputs and encoders as the batch runner, but no threads, manifest
    or atomic writes. Returns a summary shaped like the runner's."""
    options = options_from(build_parser().parse_args([str(source), str(output), *flags]))
    tree = collect_inputs(source)
    formats = {kind: options.formats[kind] for kind in options.outputs}
    layout = OutputLayout.for_inputs(output, formats, (f.relative for f in tree.files))
    session = MattingSession(
        options.weights, select_device(options.cuda), options.backend,
        options.cache_dir, options.precision,
    )  # fmt: skip
    start, done, failed = time.perf_counter(), 0, 0
    for file in tree.files:
        try:
            rgb = decode_image(file.path.read_bytes()).rgb
        except DecodeError:
            failed += 1
            continue
        matte = session.predict(rgb, options.input_size, quality=options.quality).matte
        foreground = estimate_foreground(rgb, matte, options.foreground)
        images = {
            "matte": matte,
            "cutout": cutout(foreground, matte),
            "composite": replace_background(
                rgb, foreground, matte, options.background, options.background_color,
                options.blur_strength, rgb=True,
            ),
        }  # fmt: skip
        for kind, target in layout.targets(file.relative).items():
            path = output / target
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(encode(images[kind], formats[kind]))
        done += 1
    seconds = time.perf_counter() - start
    return {"done": done, "failed": failed, "seconds": seconds,
            "images_per_second": (done + failed) / seconds, "stage_seconds": {}}  # fmt: skip


def output_bytes(folder: Path) -> dict[str, str]:
    """Relative path -> SHA-256 of the bytes of the output images under ``folder`` (digests:
    a thousand photos' outputs do not fit in memory)."""
    return {
        path.relative_to(folder).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*"))
        if path.is_file() and path.suffix in (".png", ".jpg", ".webp")
    }


def _processes() -> dict[int, tuple[int, str, float]]:
    """pid -> (parent pid, command line, resident MiB) of every readable process."""
    table = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "status").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue  # ended meanwhile
        parent = int(re.search(r"PPid:\s+(\d+)", status).group(1))
        rss = re.search(r"VmRSS:\s+(\d+)", status)
        table[int(entry.name)] = (parent, cmdline, int(rss.group(1)) / 1024 if rss else 0.0)
    return table


def tree_mib(root: int, marker: str | None) -> float:
    """Resident MiB of ``root`` and its descendants, and of the processes whose command line
    contains ``marker`` and theirs (Ray's daemons, started apart from the driver)."""
    table = _processes()
    children: dict[int, list[int]] = {}
    for pid, (parent, _, _) in table.items():
        children.setdefault(parent, []).append(pid)
    stack = [root] + [pid for pid, row in table.items() if marker and marker in row[1]]
    seen: set[int] = set()
    while stack:
        pid = stack.pop()
        if pid not in seen and pid in table:
            seen.add(pid)
            stack += children.get(pid, [])
    return sum(table[pid][2] for pid in seen)


def run_measured(command: list[str], marker: str | None = None) -> dict:
    """Runs ``command`` (which prints a JSON summary); returns its wall seconds, the peak
    resident memory of its process tree, sampled every ``POLL_S``, and the summary."""
    start = time.perf_counter()
    process = subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, text=True)
    peak = 0.0
    while process.poll() is None:
        peak = max(peak, tree_mib(process.pid, marker))
        time.sleep(POLL_S)
    wall = time.perf_counter() - start
    out = process.stdout.read()
    # Ray's raylet may print warnings on the driver's stdout before the summary.
    out = out[out.find("\n{") + 1 :] if not out.startswith("{") else out
    # 1: some photo failed, as the broken ones do; the summary is printed then too.
    if process.returncode not in (0, 1) or not out.startswith("{"):
        raise RuntimeError(
            f"{command[:4]} exited with {process.returncode}, printing {out[-2000:]!r}"
        )
    return {"wall": wall, "peak_mib": peak, "summary": json.loads(out)}


def _ray(*arguments: str) -> str:
    """Runs the ``ray`` command; returns what it printed (its log goes to stderr)."""
    ray = str(Path(sys.executable).with_name("ray"))
    done = subprocess.run([ray, *arguments], capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f"ray {' '.join(arguments)}: {done.stderr[-2000:]}")
    return done.stdout + done.stderr


@contextmanager
def ray_cluster(cpus_per_node: list[int]) -> Iterator[tuple[str, str]]:
    """Ray nodes on this machine, the first the head; yields (address, marker of their
    processes). Stopped with ``ray stop --force`` at the end."""
    # Nodes started apart from a driver would need the head's token: on one machine for a
    # benchmark, authentication is off (inherited by every process started from here).
    os.environ["RAY_AUTH_MODE"] = "disabled"
    # Short: Ray's socket paths under it must stay within the 107 characters of a Unix socket.
    temp = tempfile.mkdtemp(prefix="rb", dir="/tmp")
    common = ["--temp-dir", temp, "--disable-usage-stats"]
    try:
        printed = _ray("start", "--head", "--num-cpus", str(cpus_per_node[0]),
                       "--include-dashboard", "false", *common)  # fmt: skip
        address = re.search(r"ray start --address='([^']+)'", printed).group(1)
        for cpus in cpus_per_node[1:]:
            _ray("start", "--address", address, "--num-cpus", str(cpus), *common)
        yield address, temp
    finally:
        _ray("stop", "--force")
        shutil.rmtree(temp, ignore_errors=True)


def ray_nodes(address: str) -> int:
    """How many nodes of the cluster at ``address`` are alive."""
    script = (
        f"import ray; ray.init(address={address!r}, log_to_driver=False); "
        "print(sum(n['Alive'] for n in ray.nodes()))"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    return int(done.stdout.strip().splitlines()[-1])
