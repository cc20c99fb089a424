"""Weight resolution and download against a real HTTP server on 127.0.0.1 (no mocks)."""

from __future__ import annotations

import functools
import hashlib
import logging
import os
import random
import re
import signal
import socket
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

import modnet
from conftest import REPO, damaged_copy
from modnet import (
    PHOTOGRAPHIC,
    CheckpointError,
    WeightsError,
    download_weights,
    load_checkpoint,
    resolve_weights,
)

FILENAME = PHOTOGRAPHIC.filename
HUB_PATH = f"{PHOTOGRAPHIC.hub_folder}/{FILENAME}"
# Served by the handler itself, not from disk: both announce the whole checkpoint, send half.
LYING_ROOT = "lying"
LYING_CHUNKED_ROOT = "lying-chunked"
# Announces the whole checkpoint, then sends one byte every TRICKLE_INTERVAL_S.
TRICKLE_ROOT = "trickle"
TRICKLE_INTERVAL_S = 0.2


@dataclass
class Hub:
    """A running server: ``url(root)`` is a hub_url whose files come from ``<served>/<root>``."""

    base: str
    requests: list[tuple[str, int]] = field(default_factory=list)  # (path, status) answered

    def url(self, root: str) -> str:
        return f"{self.base}/{root}"


class _Handler(SimpleHTTPRequestHandler):
    hub: Hub
    source: bytes  # what the lying server claims to send in full

    def do_GET(self) -> None:
        half = self.source[: len(self.source) // 2]
        if self.path.startswith(f"/{LYING_ROOT}/"):
            self.send_response(200)
            self.send_header("Content-Length", str(len(self.source)))
            self.end_headers()
            self.wfile.write(half)
        elif self.path.startswith(f"/{TRICKLE_ROOT}/"):
            self.send_response(200)
            self.send_header("Content-Length", str(len(self.source)))
            self.end_headers()
            try:
                for byte in self.source:
                    self.wfile.write(bytes([byte]))
                    self.wfile.flush()
                    time.sleep(TRICKLE_INTERVAL_S)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up, as it should
        elif self.path.startswith(f"/{LYING_CHUNKED_ROOT}/"):
            self.protocol_version = "HTTP/1.1"
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            self.wfile.write(f"{len(self.source):x}\r\n".encode() + half)
        else:
            super().do_GET()
            return
        self.close_connection = True

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        self.hub.requests.append((self.path, int(code)))

    def log_message(self, format: str, *args: object) -> None:
        pass  # keep test output clean


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, checkpoint: Path) -> Path:
    """One root per scenario, each holding a file under the name the plugin expects."""
    root = tmp_path_factory.mktemp("served")
    data = checkpoint.read_bytes()
    damaged, _ = damaged_copy(checkpoint, tmp_path_factory.mktemp("damaged"))
    contents = {
        "good": data,
        "damaged": damaged.read_bytes(),
        "truncated": data[: len(data) * 4 // 10],
        "corrupt": random.Random(0).randbytes(len(data)),
    }
    for name, content in contents.items():
        target = root / name / HUB_PATH
        target.parent.mkdir(parents=True)
        target.write_bytes(content)
    (root / "empty").mkdir()
    return root


@pytest.fixture
def hub(served: Path, checkpoint: Path) -> Iterator[Hub]:
    state = Hub(base="")
    handler = type("Handler", (_Handler,), {"hub": state, "source": checkpoint.read_bytes()})
    server = ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(handler, directory=str(served))
    )
    server.daemon_threads = True
    host, port = server.server_address[:2]
    state.base = f"http://{host}:{port}"
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


@pytest.fixture
def closed_url() -> Iterator[str]:
    # A bound socket that never listens: connections are refused, and no one else can take
    # the port while the test runs.
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        host, port = sock.getsockname()
        yield f"http://{host}:{port}"


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    return tmp_path / "weights"  # absent: the download must create it


def test_downloads_into_folder_identical_to_source(
    hub: Hub, folder: Path, checkpoint: Path
) -> None:
    path = resolve_weights("", folder, hub.url("good"))

    assert path == folder / FILENAME
    assert path.read_bytes() == checkpoint.read_bytes()
    # No .part left; the digest of what was downloaded recorded beside it, as sha256sum does.
    assert sorted(p.name for p in folder.iterdir()) == [FILENAME, f"{FILENAME}.sha256"]
    digest = hashlib.sha256(checkpoint.read_bytes()).hexdigest()
    assert (folder / f"{FILENAME}.sha256").read_text() == f"{digest}  {FILENAME}\n"
    assert hub.requests == [(f"/good/{HUB_PATH}", 200)]


def test_download_logs_progress_up_to_100_percent(
    hub: Hub, folder: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=modnet.weights.logger.name)

    resolve_weights("", folder, hub.url("good"))

    percents = [
        int(match.group(1))
        for record in caplog.records
        if record.name == modnet.weights.logger.name
        and (match := re.search(r"(\d+)%", record.getMessage()))
    ]
    assert len(percents) >= 5, percents
    assert percents == sorted(set(percents)), percents
    assert percents[0] < 50
    assert percents[-1] == 100


def test_second_call_does_not_download_again(hub: Hub, folder: Path) -> None:
    first = resolve_weights("", folder, hub.url("good"))
    mtime = first.stat().st_mtime_ns

    second = resolve_weights("", folder, hub.url("good"))

    assert second == first
    assert second.stat().st_mtime_ns == mtime
    assert len(hub.requests) == 1


@pytest.mark.parametrize(
    ("root", "reason"),
    [
        ("truncated", "corrupt"),
        ("corrupt", "corrupt"),
        ("damaged", "do not match their CRC-32"),
        (LYING_ROOT, "connection closed"),
        (LYING_CHUNKED_ROOT, "could not download"),
    ],
)
def test_bad_download_raises_and_leaves_nothing(
    hub: Hub, folder: Path, root: str, reason: str
) -> None:
    url = f"{hub.url(root)}/{HUB_PATH}"

    with pytest.raises(WeightsError) as raised:
        resolve_weights("", folder, hub.url(root))

    message = str(raised.value)
    assert url in message
    assert reason in message
    assert hub.requests == [(f"/{root}/{HUB_PATH}", 200)]  # the body was served, not a 404
    assert list(folder.iterdir()) == []


@pytest.mark.parametrize("where", ["missing_file", "no_server"])
def test_unreachable_weights_say_where_to_put_the_file(
    hub: Hub, closed_url: str, folder: Path, where: str
) -> None:
    hub_url = hub.url("empty") if where == "missing_file" else closed_url

    with pytest.raises(WeightsError) as raised:
        resolve_weights("", folder, hub_url)

    message = str(raised.value)
    assert str(folder / FILENAME) in message
    assert "model_weight_file" in message
    assert f"{hub_url}/{HUB_PATH}" in message
    assert not (folder / FILENAME).exists()
    if where == "missing_file":
        assert hub.requests == [(f"/empty/{HUB_PATH}", 404)]


def test_explicit_file_wins_over_folder(closed_url: str, folder: Path, checkpoint: Path) -> None:
    folder.mkdir()
    (folder / FILENAME).write_bytes(b"not the one to use")

    assert resolve_weights(checkpoint, folder, closed_url) == checkpoint
    assert resolve_weights(str(checkpoint), folder, closed_url) == checkpoint


def test_missing_explicit_file_raises_file_not_found(
    closed_url: str, folder: Path, tmp_path: Path
) -> None:
    missing = tmp_path / "nowhere.ckpt"

    with pytest.raises(FileNotFoundError, match=r"^model_weight_file") as raised:
        resolve_weights(missing, folder, closed_url)

    assert str(missing) in str(raised.value)


def test_file_in_folder_is_used_without_download(closed_url: str, folder: Path) -> None:
    folder.mkdir()
    local = folder / FILENAME
    local.write_bytes(b"already here")

    assert resolve_weights("", folder, closed_url) == local
    assert local.read_bytes() == b"already here"


def test_a_downloaded_file_damaged_since_is_refused_by_its_recorded_digest(
    hub: Hub, closed_url: str, folder: Path
) -> None:
    path = resolve_weights("", folder, hub.url("good"))
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF  # one bit flip, within a tensor's bytes
    path.write_bytes(data)

    with pytest.raises(CheckpointError, match=rf"{re.escape(str(path))}: damaged: its SHA-256"):
        resolve_weights("", folder, closed_url)


def test_downloaded_file_loads_into_modnet(hub: Hub, folder: Path) -> None:
    path = resolve_weights("", folder, hub.url("good"))

    model = load_checkpoint(path)

    assert isinstance(model, modnet.MODNet)
    assert not model.training


def test_downloaded_file_is_readable_by_other_users(hub: Hub, folder: Path) -> None:
    previous = os.umask(0o022)
    try:
        path = resolve_weights("", folder, hub.url("good"))
    finally:
        os.umask(previous)

    assert stat.S_IMODE(path.stat().st_mode) == 0o644


def test_trickling_server_is_stopped_by_the_deadline_with_progress_from_the_first_byte(
    hub: Hub, folder: Path, caplog: pytest.LogCaptureFixture
) -> None:
    url = f"{hub.url(TRICKLE_ROOT)}/{HUB_PATH}"

    with (
        caplog.at_level(logging.INFO, logger=modnet.weights.logger.name),
        pytest.raises(WeightsError) as raised,
    ):
        download_weights(url, folder / FILENAME, deadline=1.0)

    message = str(raised.value)
    assert url in message and "gave up after 1 s" in message
    assert "model_weight_file" in message
    progress = [r.getMessage() for r in caplog.records if "%" in r.getMessage()]
    assert progress and progress[0].startswith("Downloading MODNet weights: 0% of 26.3 MB")
    assert list(folder.iterdir()) == []


def test_unwritable_folder_says_what_is_missing_and_how_to_provide_it(
    closed_url: str, tmp_path: Path
) -> None:
    # A folder below a regular file cannot be created, whoever runs the tests (root included).
    blocker = tmp_path / "file"
    blocker.write_bytes(b"")
    folder = blocker / "weights"

    with pytest.raises(WeightsError) as raised:
        resolve_weights("", folder, closed_url)

    message = str(raised.value)
    assert message.startswith("the MODNet weights are missing")
    assert str(folder / FILENAME) in message
    assert f"{closed_url}/{HUB_PATH}" in message
    assert "model_weight_file" in message and "writable" in message
    assert ".part" not in message


DOWNLOAD_IN_CHILD = """
import sys
from modnet.weights import download_weights

download_weights(sys.argv[1], sys.argv[2])
"""


def test_sigterm_mid_download_leaves_nothing(hub: Hub, folder: Path) -> None:
    url = f"{hub.url(TRICKLE_ROOT)}/{HUB_PATH}"
    child = subprocess.Popen(
        [sys.executable, "-c", DOWNLOAD_IN_CHILD, url, str(folder / FILENAME)],
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        give_up = time.monotonic() + 60
        # The temporary file exists and the server answers: the download is under way.
        while not (list(folder.glob(".*.part")) and hub.requests):
            assert child.poll() is None, child.stderr.read()
            assert time.monotonic() < give_up, "the download never started"
            time.sleep(0.05)
        child.send_signal(signal.SIGTERM)
        child.wait(timeout=30)
    finally:
        child.kill()
        child.wait()

    assert child.returncode == -signal.SIGTERM  # terminated as by SIGTERM, after cleaning up
    assert list(folder.iterdir()) == []
