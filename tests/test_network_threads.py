"""The process's thread count for network passes reaches each CPU runtime, and a pass of one
thread gives the matte of a pass of every core (the Ray engine's actors rely on both)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch

from modnet import MattingSession, set_network_threads
from modnet.runtime.torch_runner import TorchRunner


@pytest.fixture
def one_thread() -> Iterator[None]:
    torch_threads = torch.get_num_threads()
    set_network_threads(1)
    yield
    set_network_threads(None)
    torch.set_num_threads(torch_threads)


def test_onnxruntime_session_of_one_thread_gives_the_same_matte(
    checkpoint: Path, tmp_path_factory: pytest.TempPathFactory, sample_rgb: np.ndarray
) -> None:
    cache = tmp_path_factory.mktemp("threads")
    every_core = MattingSession(checkpoint, backend="onnxruntime", cache_dir=cache)
    set_network_threads(1)
    try:
        one = MattingSession(checkpoint, backend="onnxruntime", cache_dir=cache)
    finally:
        set_network_threads(None)

    assert one.network.session.get_session_options().intra_op_num_threads == 1
    assert every_core.network.session.get_session_options().intra_op_num_threads == 0
    assert np.array_equal(
        one.predict(sample_rgb, 256).matte, every_core.predict(sample_rgb, 256).matte
    )


def test_openvino_and_torch_take_the_thread_count(
    checkpoint: Path, tmp_path_factory: pytest.TempPathFactory, one_thread: None
) -> None:
    pytest.importorskip("openvino")
    cache = tmp_path_factory.mktemp("threads-openvino")
    session = MattingSession(checkpoint, backend="openvino", cache_dir=cache, precision="fp32")
    for request in session.network.requests:
        assert request.get_compiled_model().get_property("INFERENCE_NUM_THREADS") == 1
    TorchRunner(torch.nn.Identity(), "cpu")
    assert torch.get_num_threads() == 1


@pytest.mark.parametrize("threads", [0, -2, 1.5, True, "2"])
def test_bad_thread_count_is_refused_by_name(threads: object) -> None:
    with pytest.raises(ValueError, match="network_threads: expected a positive integer"):
        set_network_threads(threads)  # type: ignore[arg-type]
