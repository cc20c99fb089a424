"""What the CPU is: its name and the vector instruction sets that decide which runtime and
precision are fastest on it."""

from __future__ import annotations

import platform
from functools import lru_cache
from pathlib import Path

# x86 feature flags (as Linux names them) that change which kernels the runtimes can use.
ISA_FLAGS = (
    "avx2",
    "fma",
    "avx_vnni",
    "avx512f",
    "avx512_vnni",
    "avx512_bf16",
    "amx_bf16",
    "amx_int8",
)


@lru_cache(maxsize=1)
def _cpuinfo() -> dict[str, str]:
    """The first processor's fields of /proc/cpuinfo; empty where there is none."""
    path = Path("/proc/cpuinfo")
    if not path.is_file():
        return {}
    fields: dict[str, str] = {}
    for line in path.read_text().splitlines():
        if not line.strip():
            break
        key, _, value = line.partition(":")
        fields[key.strip()] = value.strip()
    return fields


def cpu_name() -> str:
    return _cpuinfo().get("model name") or platform.processor() or platform.machine()


def isa_flags() -> list[str]:
    """The flags of ``ISA_FLAGS`` this CPU has (Linux only; empty elsewhere)."""
    flags = set(_cpuinfo().get("flags", "").split())
    return [flag for flag in ISA_FLAGS if flag in flags]
