"""Shared fixtures: the real MODNet weights and data from ../shared beside the repository."""

from __future__ import annotations

import os
import struct
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("MODNET_SHARED", REPO.parent / "shared"))
CHECKPOINT = SHARED / "models" / "modnet_photographic_portrait_matting.ckpt"
ONNX_MODEL = SHARED / "models" / "modnet_photographic_portrait_matting.onnx"
PPM100_DEV = SHARED / "data" / "ppm100-dev"
SAMPLE = REPO / "samples" / "astronaut.png"


def pytest_sessionstart(session: pytest.Session) -> None:
    # The tests check numerics against the real weights: without them they must fail, not skip.
    for required in (CHECKPOINT, ONNX_MODEL, PPM100_DEV):
        if not required.exists():
            raise pytest.UsageError(f"missing {required}: set MODNET_SHARED to the shared folder")


def read_rgb(path: Path) -> np.ndarray:
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    assert image is not None, f"cannot read {path}"
    return np.ascontiguousarray(image[..., ::-1])


def write_video(path: Path, frames: list[np.ndarray], fourcc: str) -> list[np.ndarray]:
    """Writes RGB ``frames``; returns them as decoded from the file, as a workflow gets them."""
    height, width = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), 10, (width, height))
    for frame in frames:
        writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    writer.release()
    capture, decoded = cv2.VideoCapture(str(path)), []
    while (read := capture.read())[0]:
        decoded.append(cv2.cvtColor(read[1], cv2.COLOR_BGR2RGB))
    capture.release()
    assert len(decoded) == len(frames), f"{path}: {len(decoded)} frames of {len(frames)} read"
    return decoded


def temporal_reference(method: str, frames: list[np.ndarray], mattes: list[np.ndarray]):
    """The mattes that the filter of ``method`` gives ``frames`` in one stream, in order."""
    from modnet.video.temporal import create_filter

    matte_filter = create_filter(method)
    out = [matte_filter.push(f, m) for f, m in zip(frames, mattes, strict=True)]
    return [m for m in out if m is not None] + matte_filter.flush()


def damaged_copy(checkpoint: Path, folder: Path, zeroed: int = 200_000) -> tuple[Path, str]:
    """A copy of ``checkpoint`` with ``zeroed`` bytes set to zero in the middle of its largest
    tensor's data; returns it and the name of that member of the zip archive."""
    with zipfile.ZipFile(checkpoint) as archive:
        member = max(archive.infolist(), key=lambda info: info.file_size)
    data = bytearray(checkpoint.read_bytes())
    # The local header: 30 bytes, then the name and extra field, whose lengths end it.
    name_length, extra_length = struct.unpack_from("<HH", data, member.header_offset + 26)
    start = member.header_offset + 30 + name_length + extra_length
    middle = start + member.file_size // 2 - zeroed // 2
    assert member.compress_type == zipfile.ZIP_STORED and member.file_size > 2 * zeroed
    data[middle : middle + zeroed] = bytes(zeroed)
    copy = folder / "damaged.ckpt"
    copy.write_bytes(data)
    return copy, member.filename


def _chunk(tag: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))


def write_png_bomb(path: Path, side: int) -> Path:
    """A valid grey PNG of ``side`` x ``side`` pixels, a white row every 100, compressed row by
    row: a file of about 140 kB that decodes to ``side`` squared bytes."""
    compressor = zlib.compressobj(9)
    black, white = bytes(side + 1), b"\0" + b"\xff" * side  # each row: filter byte, pixels
    rows = [compressor.compress(white if row % 100 == 0 else black) for row in range(side)]
    header = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)
    idat = b"".join(rows) + compressor.flush()
    signature = b"\x89PNG\r\n\x1a\n"
    content = _chunk(b"IHDR", header) + _chunk(b"IDAT", idat) + _chunk(b"IEND", b"")
    path.write_bytes(signature + content)
    return path


@pytest.fixture
def opencv_threads() -> Iterator[None]:
    """Restores OpenCV's number of threads (that of the worker threads too, see
    ``modnet.workers``) after a test that sets it."""
    threads = cv2.getNumThreads()
    yield
    cv2.setNumThreads(threads)


@pytest.fixture(scope="session")
def checkpoint() -> Path:
    return CHECKPOINT


@pytest.fixture(scope="session")
def sample_rgb() -> np.ndarray:
    return read_rgb(SAMPLE)


@pytest.fixture(scope="session")
def session(tmp_path_factory: pytest.TempPathFactory):
    """The fastest float32 session on this CPU: the pipeline's numerics are checked against
    float32 oracles (the default precision may be bfloat16, see test_openvino.py)."""
    from modnet import MattingSession

    return MattingSession(CHECKPOINT, cache_dir=tmp_path_factory.mktemp("cache"), precision="fp32")


@pytest.fixture(scope="session")
def ikomia_workflow(tmp_path_factory: pytest.TempPathFactory):
    """Ikomia's ``Workflow`` class, imported offline with the checkout installed as a plugin in a
    temporary HOME."""
    from plugin_env import import_workflow

    return import_workflow(tmp_path_factory.mktemp("home"))


@pytest.fixture
def workflow(ikomia_workflow):
    """A new Workflow."""
    return ikomia_workflow()


@pytest.fixture
def task(workflow, checkpoint: Path):
    """The plugin's task in a new Workflow, on the shared weights."""
    from plugin_env import TASK_NAME

    task = workflow.add_task(name=TASK_NAME, public_hub=False, auto_connect=True)
    task.set_parameters({"model_weight_file": str(checkpoint)})
    return task


# Three of the smallest dev pairs, landscape and portrait: enough for behavioural checks.
PPM100_QUICK = ("9588042894_3311442be9_o", "21440655004_9042e41252_o", "17876927642_a73799528c_o")


@pytest.fixture(scope="session")
def ppm100_pairs() -> list[tuple[str, np.ndarray, np.ndarray]]:
    """(stem, RGB photo, uint8 ground-truth alpha) for the pairs in ``PPM100_QUICK``."""
    pairs = []
    for stem in PPM100_QUICK:
        alpha = cv2.imread(str(PPM100_DEV / "alpha" / f"{stem}.jpg"), cv2.IMREAD_GRAYSCALE)
        assert alpha is not None, f"cannot read the alpha of {stem}"
        pairs.append((stem, read_rgb(PPM100_DEV / "image" / f"{stem}.jpg"), alpha))
    return pairs


@pytest.fixture(scope="session")
def onnx_model():
    """The MODNet authors' ONNX export on onnxruntime's CPU provider: the numerical oracle."""
    import onnxruntime

    return onnxruntime.InferenceSession(str(ONNX_MODEL), providers=["CPUExecutionProvider"])


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """SOC's training tests run first. In a process where the plugin's Workflow tests have run,
    PyTorch's backward pass through MODNet on the CPU took minutes instead of seconds (three
    iterations on 64 x 64 frames: over 200 s against 6 s; the cause is not found), which only
    the tests meet: SOC runs in a process of its own (`python -m modnet.adapt`)."""
    items.sort(key=lambda item: not item.nodeid.startswith("tests/test_soc_"))
