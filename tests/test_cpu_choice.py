"""auto on the CPU: the fastest installed runtime, found once per machine and remembered."""

from __future__ import annotations

import importlib.util
import json
import logging
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from modnet.runtime import cpu_choice
from modnet.runtime.cpu import ISA_FLAGS, cpu_name, isa_flags
from modnet.runtime.cpu_choice import CHOICES_NAME, cpu_runtimes, fastest_cpu_runner, machine_key


class FakeRunner:
    def __init__(self, name: str) -> None:
        self.name = name

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return x[:, :1]


@pytest.fixture
def builds(monkeypatch) -> dict[str, int]:
    """Fake candidates ``fast`` and ``slow``; counts how often each is built."""
    counts = {"fast": 0, "slow": 0}

    def builder(name: str) -> Callable[[], FakeRunner]:
        def build() -> FakeRunner:
            counts[name] += 1
            return FakeRunner(name)

        return build

    monkeypatch.setattr(
        cpu_choice, "candidates", lambda *_: {name: builder(name) for name in counts}
    )
    monkeypatch.setattr(cpu_choice, "time_runners", lambda runners: {"fast": 0.1, "slow": 0.3})
    return counts


def test_the_fastest_is_chosen_and_remembered(builds, tmp_path: Path, monkeypatch) -> None:
    runner = fastest_cpu_runner(Path("w.ckpt"), tmp_path, "auto")
    assert runner.name == "fast"
    assert builds == {"fast": 1, "slow": 1}
    record = json.loads((tmp_path / CHOICES_NAME).read_text())
    assert record == {machine_key("auto"): "fast"}

    def no_trial(_runners):
        raise AssertionError("the remembered choice was timed again")

    monkeypatch.setattr(cpu_choice, "time_runners", no_trial)
    assert fastest_cpu_runner(Path("w.ckpt"), tmp_path, "auto").name == "fast"
    assert builds == {"fast": 2, "slow": 1}, "only the remembered runtime is built"


def test_a_candidate_that_fails_is_skipped(builds, tmp_path: Path, monkeypatch, caplog) -> None:
    def broken() -> FakeRunner:
        raise RuntimeError("does not reproduce PyTorch")

    monkeypatch.setattr(
        cpu_choice, "candidates", lambda *_: {"fast": broken, "slow": lambda: FakeRunner("slow")}
    )
    with caplog.at_level(logging.WARNING):
        assert fastest_cpu_runner(Path("w.ckpt"), tmp_path, "auto").name == "slow"
    assert any("cannot use fast" in r.getMessage() for r in caplog.records)


def test_no_candidate_gives_none(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(cpu_choice, "candidates", lambda *_: {})
    assert fastest_cpu_runner(Path("w.ckpt"), tmp_path, "auto") is None
    assert not (tmp_path / CHOICES_NAME).exists()


def test_a_record_for_another_machine_or_precision_is_not_used(builds, tmp_path: Path) -> None:
    (tmp_path / CHOICES_NAME).write_text(json.dumps({machine_key("fp32"): "slow"}))
    assert fastest_cpu_runner(Path("w.ckpt"), tmp_path, "auto").name == "fast"
    record = json.loads((tmp_path / CHOICES_NAME).read_text())
    assert record == {machine_key("fp32"): "slow", machine_key("auto"): "fast"}


def test_an_unreadable_record_is_timed_again(builds, tmp_path: Path) -> None:
    (tmp_path / CHOICES_NAME).write_text("{not json")
    assert fastest_cpu_runner(Path("w.ckpt"), tmp_path, "auto").name == "fast"
    assert builds == {"fast": 1, "slow": 1}


def test_machine_key_follows_precision_and_instruction_set_cap(monkeypatch) -> None:
    monkeypatch.delenv("ONEDNN_MAX_CPU_ISA", raising=False)
    key = machine_key("auto")
    assert cpu_name() in key
    assert machine_key("fp32") != key
    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", "AVX2")
    assert machine_key("auto") != key


def test_time_runners_times_each_runner() -> None:
    seconds = cpu_choice.time_runners({"a": FakeRunner("a"), "b": FakeRunner("b")})
    assert set(seconds) == {"a", "b"}
    assert all(value >= 0 for value in seconds.values())


def test_cpu_runtimes_lists_the_installed_ones() -> None:
    runtimes = cpu_runtimes()
    assert ("onnxruntime", "fp32") in runtimes
    has_openvino = importlib.util.find_spec("openvino") is not None
    assert (("openvino", "fp32") in runtimes) == has_openvino
    assert {precision for _, precision in runtimes} <= {"fp32", "bf16"}


def test_isa_flags_are_those_the_kernel_lists() -> None:
    cpuinfo = Path("/proc/cpuinfo")
    if not cpuinfo.is_file():
        assert isa_flags() == []
        return
    line = next(line for line in cpuinfo.read_text().splitlines() if line.startswith("flags"))
    listed = line.partition(":")[2].split()
    assert isa_flags() == [flag for flag in ISA_FLAGS if flag in listed]
