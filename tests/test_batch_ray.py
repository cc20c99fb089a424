"""The Ray engine on a local Ray instance: the same bytes as the local engine, and the manifest
complete; an actor's share of the cores. Ray comes from ``extras/ray.txt``; starting it takes
seconds, so one test does it."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import ray

from batch_support import cache_dir, photo_tree, quick_options, tree_bytes
from modnet import network_threads, set_network_threads
from modnet.batch import RayOptions, read_manifest, run_batch
from modnet.batch.outputs import OutputLayout
from modnet.batch.ray_engine import MatteActor
from modnet.workers import work_threads

PHOTOS = 4


@pytest.fixture
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


def test_ray_engine_writes_what_the_local_engine_writes(
    local_ray: None,
    tmp_path: Path,
    tmp_path_factory: pytest.TempPathFactory,
    sample_rgb: np.ndarray,
) -> None:
    options = quick_options(cache_dir(tmp_path_factory))
    source = tmp_path / "in"
    photo_tree(source, sample_rgb, PHOTOS)
    (source / "broken.jpg").write_bytes(b"\xff\xd8\xff not a whole JPEG")
    local = run_batch(source, tmp_path / "local", options, progress=False)

    on_ray = run_batch(
        source,
        tmp_path / "ray",
        options,
        engine="ray",
        ray_options=RayOptions(concurrency=2, num_cpus=1, batch_size=2),
        progress=False,
    )

    assert (on_ray["done"], on_ray["failed"]) == (local["done"], local["failed"]) == (PHOTOS, 1)
    assert tree_bytes(tmp_path / "ray") == tree_bytes(tmp_path / "local")
    ray_state = read_manifest(tmp_path / "ray" / "manifest.jsonl")
    local_state = read_manifest(tmp_path / "local" / "manifest.jsonl")
    assert sorted(ray_state) == sorted(local_state)
    for path, record in ray_state.items():
        expected = local_state[path]
        for field in ("size", "mtime_ns", "params", "status", "reason", "outputs"):
            assert record[field] == expected[field], (path, field)
    # Resuming works the same way: nothing left to do.
    again = run_batch(source, tmp_path / "ray", options, engine="ray", progress=False)
    assert (again["skipped"], again["done"], again["failed"]) == (PHOTOS, 0, 1)


def test_an_actor_takes_its_share_of_the_cores_for_network_and_opencv(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory, opencv_threads: None
) -> None:
    cv2.setNumThreads(4)
    layout = OutputLayout(tmp_path, {"cutout": "png"})
    try:
        MatteActor(quick_options(cache_dir(tmp_path_factory)), layout, 24.0, str(tmp_path), 1)
        assert (network_threads(), cv2.getNumThreads(), work_threads()) == (1, 1, 1)
    finally:
        set_network_threads(None)
