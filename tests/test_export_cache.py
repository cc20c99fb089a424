"""The export cache and the files it writes, with a trivial builder (no network involved)."""

from __future__ import annotations

import logging
import os
import stat
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from modnet.files import STALE_AFTER_S, temporary_beside
from modnet.runtime.export_cache import MAX_ENTRIES, ExportCache


@pytest.fixture
def umask_022() -> Iterator[None]:
    previous = os.umask(0o022)
    yield
    os.umask(previous)


@pytest.fixture
def sources(tmp_path: Path) -> list[Path]:
    paths = []
    for index in range(MAX_ENTRIES + 2):
        path = tmp_path / f"source{index}.bin"
        path.write_bytes(f"weights {index}".encode())
        paths.append(path)
    return paths


@pytest.fixture
def cache(tmp_path: Path) -> ExportCache:
    return ExportCache(tmp_path / "cache", prefix="net", suffix=".bin", version="1")


def build_from(source: Path, calls: list[Path] | None = None):
    def build(part: Path) -> None:
        part.write_bytes(b"export of " + source.read_bytes())
        if calls is not None:
            calls.append(part)

    return build


def test_entry_is_found_for_its_source_only(cache: ExportCache, sources: list[Path]) -> None:
    entry = cache.store(cache.key(sources[0]), build_from(sources[0]))

    assert cache.find(cache.key(sources[0])) == entry
    assert cache.find(cache.key(sources[1])) is None
    assert entry.read_bytes() == b"export of weights 0"
    assert sorted(p.name for p in cache.folder.iterdir()) == [entry.name]  # no .part left


def test_key_follows_the_recipe_version(cache: ExportCache, sources: list[Path]) -> None:
    other_version = ExportCache(cache.folder, prefix="net", suffix=".bin", version="2")

    assert other_version.key(sources[0]) != cache.key(sources[0])


def test_modified_entry_is_removed_not_trusted(
    cache: ExportCache, sources: list[Path], caplog: pytest.LogCaptureFixture
) -> None:
    entry = cache.store(cache.key(sources[0]), build_from(sources[0]))
    entry.write_bytes(b"export of weights 1")  # e.g. another file copied over it

    with caplog.at_level(logging.WARNING):
        assert cache.find(cache.key(sources[0])) is None

    assert not entry.exists()
    assert "modified" in caplog.text


def test_entries_are_bounded_least_recently_used_first(
    cache: ExportCache, sources: list[Path]
) -> None:
    entries = []
    for index, source in enumerate(sources[:MAX_ENTRIES]):
        entries.append(cache.store(cache.key(source), build_from(source)))
        os.utime(entries[-1], (1000.0 + index, 1000.0 + index))  # distinct, increasing ages
    cache.find(cache.key(sources[0]))  # the oldest, used again: now the most recent

    newest = cache.store(cache.key(sources[MAX_ENTRIES]), build_from(sources[MAX_ENTRIES]))

    kept = set(cache.entries())
    assert len(kept) == MAX_ENTRIES
    assert kept == {newest, entries[0], *entries[2:]}
    assert not entries[1].exists()


def test_entries_of_earlier_versions_are_evicted_other_files_kept(
    cache: ExportCache, sources: list[Path]
) -> None:
    cache.folder.mkdir()
    old = cache.folder / "net-0123456789abcdef.bin"  # an earlier version's name
    old.write_bytes(b"old")
    os.utime(old, (1000.0, 1000.0))
    unrelated = [cache.folder / name for name in ("net-webcam.bin", "weights.ckpt", "net-x.bin")]
    for path in unrelated:
        path.write_bytes(b"not an entry")
    for source in sources[:MAX_ENTRIES]:
        cache.store(cache.key(source), build_from(source))

    assert not old.exists()
    assert all(path.exists() for path in unrelated)


def test_failed_build_leaves_nothing(cache: ExportCache, sources: list[Path]) -> None:
    def failing(part: Path) -> None:
        part.write_bytes(b"half")
        raise RuntimeError("unfit")

    with pytest.raises(RuntimeError, match="unfit"):
        cache.store(cache.key(sources[0]), failing)

    assert list(cache.folder.iterdir()) == []


def test_entries_get_normal_permissions(
    cache: ExportCache, sources: list[Path], umask_022: None
) -> None:
    entry = cache.store(cache.key(sources[0]), build_from(sources[0]))

    assert stat.S_IMODE(entry.stat().st_mode) == 0o644


def test_stale_part_files_are_removed_fresh_ones_kept(tmp_path: Path) -> None:
    destination = tmp_path / "file.bin"
    stale = tmp_path / ".file.bin.0123456789ab.part"
    fresh = tmp_path / ".file.bin.ba9876543210.part"
    for path in (stale, fresh):
        path.write_bytes(b"left by a killed writer")
    old = time.time() - STALE_AFTER_S - 60
    os.utime(stale, (old, old))

    with temporary_beside(destination) as part:
        assert part.exists() and part.parent == tmp_path

    assert not stale.exists()
    assert fresh.exists()
    assert not part.exists()
