"""Weight resolution and download against a real HTTP server on 127.0.0.1 (no mocks)."""

from __future__ import annotations

import functools
import logging
import random
import re
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

import modnet
from modnet import PHOTOGRAPHIC, WeightsError, load_checkpoint, resolve_weights

FILENAME = PHOTOGRAPHIC.filename
HUB_PATH = f"{PHOTOGRAPHIC.hub_folder}/{FILENAME}"
# Served by the handler itself, not from disk: both announce the whole checkpoint, send half.
LYING_ROOT = "lying"
LYING_CHUNKED_ROOT = "lying-chunked"


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
    contents = {
        "good": data,
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
    assert sorted(p.name for p in folder.iterdir()) == [FILENAME]  # no .part left
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


def test_downloaded_file_loads_into_modnet(hub: Hub, folder: Path) -> None:
    path = resolve_weights("", folder, hub.url("good"))

    model = load_checkpoint(path)

    assert isinstance(model, modnet.MODNet)
    assert not model.training
