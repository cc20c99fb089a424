"""Batch runs on the local engine: the outputs against the core's own functions, the manifest,
what a rerun skips and redoes, bad inputs and the exit status."""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from batch_support import (
    INPUT_SIZE,
    cache_dir,
    photo_tree,
    pillow_bytes,
    quick_options,
    small_photo,
    write_rgb,
)
from conftest import CHECKPOINT
from modnet import MattingSession, cutout, estimate_foreground, replace_background
from modnet.batch import read_manifest, run_batch
from modnet.batch.cli import main


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return cache_dir(tmp_path_factory)


@pytest.fixture(scope="module")
def first_run(tmp_path_factory: pytest.TempPathFactory, sample_rgb: np.ndarray, cache: Path):
    """Seven photos in nested folders, run once: (input folder, output folder, summary)."""
    root = tmp_path_factory.mktemp("run")
    photo_tree(root / "in", sample_rgb, 7)
    summary = run_batch(root / "in", root / "out", quick_options(cache), progress=False)
    return root / "in", root / "out", summary


def read_output(path: Path) -> np.ndarray:
    image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    assert image is not None, path
    if image.ndim == 3:
        image = cv2.cvtColor(
            image, cv2.COLOR_BGRA2RGBA if image.shape[2] == 4 else cv2.COLOR_BGR2RGB
        )
    return image


def test_outputs_mirror_the_input_tree(first_run) -> None:
    source, output, summary = first_run
    relatives = sorted(
        p.relative_to(source).with_suffix("").as_posix() for p in source.rglob("*.jpg")
    )

    assert summary["done"] == 7 and summary["failed"] == 0 and summary["skipped"] == 0
    for kind, extension in (("matte", "png"), ("cutout", "png"), ("composite", "jpg")):
        written = sorted(
            p.relative_to(output / kind).as_posix() for p in (output / kind).rglob("*")
        )
        written = [name for name in written if "." in name]
        assert written == [f"{relative}.{extension}" for relative in relatives], kind
    # Equal names in different folders: distinct files.
    assert "set0/photo0" in relatives and "set1/deep/photo0" in relatives


def test_outputs_equal_the_core_functions(first_run, sample_rgb: np.ndarray, cache: Path) -> None:
    source, output, _ = first_run
    session = MattingSession(CHECKPOINT, backend="onnxruntime", cache_dir=cache, precision="fp32")
    rgb = cv2.imread(str(source / "set1" / "deep" / "photo0.jpg"))[..., ::-1]

    matte = session.predict(rgb, INPUT_SIZE).matte
    foreground = estimate_foreground(rgb, matte)
    composite = replace_background(rgb, foreground, matte, "color", rgb=True)

    np.testing.assert_array_equal(read_output(output / "matte/set1/deep/photo0.png"), matte)
    np.testing.assert_array_equal(
        read_output(output / "cutout/set1/deep/photo0.png"), cutout(foreground, matte)
    )
    decoded = read_output(output / "composite/set1/deep/photo0.jpg")
    assert np.abs(decoded.astype(int) - composite).mean() < 2  # JPEG at quality 95
    assert matte.min() < 10 and matte.max() > 245  # a person, and a background


def test_manifest_records_each_photo_with_its_stat_and_outputs(first_run) -> None:
    source, output, summary = first_run
    state = read_manifest(output / "manifest.jsonl")
    lines = (output / "manifest.jsonl").read_text().splitlines()

    assert len(lines) == len(state) == 7  # compacted: one line per photo
    record = state["set2/photo0.jpg"]
    stat = (source / "set2" / "photo0.jpg").stat()
    assert (record["size"], record["mtime_ns"]) == (stat.st_size, stat.st_mtime_ns)
    assert record["status"] == "done" and record["reason"] is None
    assert record["outputs"] == {
        "matte": "matte/set2/photo0.png",
        "cutout": "cutout/set2/photo0.png",
        "composite": "composite/set2/photo0.jpg",
    }
    assert {"decode", "network", "forward", "foreground", "encode", "write"} <= set(
        record["seconds"]
    )
    assert summary["manifest"] == str(output / "manifest.jsonl")


def test_rerun_skips_done_and_redoes_changed_inputs_and_parameters(
    tmp_path: Path, sample_rgb: np.ndarray, cache: Path
) -> None:
    source, output = tmp_path / "in", tmp_path / "out"
    paths = photo_tree(source, sample_rgb, 3)
    options = quick_options(cache, outputs=("matte",))
    run_batch(source, output, options, progress=False)
    params = read_manifest(output / "manifest.jsonl")["set0/photo0.jpg"]["params"]

    assert run_batch(source, output, options, progress=False)["skipped"] == 3

    write_rgb(paths[1], small_photo(sample_rgb)[::-1])  # new content, new size or mtime
    os.utime(paths[2], ns=(0, 0))  # same content, another modification time
    (output / "matte" / "set0" / "photo0.png").unlink()  # an output deleted since
    again = run_batch(source, output, options, progress=False)
    assert (again["skipped"], again["done"]) == (0, 3)

    changed = quick_options(cache, outputs=("matte",), input_size=160)
    assert run_batch(source, output, changed, progress=False)["done"] == 3
    assert read_manifest(output / "manifest.jsonl")["set0/photo0.jpg"]["params"] != params


def test_bad_inputs_are_recorded_or_converted_and_the_exit_status_says_so(
    tmp_path: Path, sample_rgb: np.ndarray, cache: Path
) -> None:
    source, output = tmp_path / "in", tmp_path / "out"
    photo = small_photo(sample_rgb)
    jpeg = cv2.imencode(".jpg", photo[..., ::-1])[1].tobytes()
    sixteen_bits = photo[..., ::-1].astype(np.uint16) * 257
    source.mkdir()
    files = {
        "zero.jpg": b"",
        "truncated.jpg": jpeg[: len(jpeg) // 2],
        "text.jpg": b"not a photo\n",
        "cmyk.jpg": pillow_bytes(Image.fromarray(photo).convert("CMYK"), "JPEG"),
        "sixteen.png": cv2.imencode(".png", sixteen_bits)[1].tobytes(),
        "rgba.png": pillow_bytes(Image.fromarray(photo).convert("RGBA"), "PNG"),
        "grey.png": pillow_bytes(Image.fromarray(photo[..., 0]), "PNG"),
        "png-named.jpg": cv2.imencode(".png", photo[..., ::-1])[1].tobytes(),
    }
    for name, data in files.items():
        (source / name).write_bytes(data)
    arguments = [str(source), str(output), "--model-weight-file", str(CHECKPOINT)]
    arguments += ["--backend", "onnxruntime", "--precision", "fp32", "--cache-dir", str(cache)]
    arguments += ["--input-size", str(INPUT_SIZE), "--outputs", "matte", "--no-progress"]

    assert main(arguments) == 1

    state = read_manifest(output / "manifest.jsonl")
    reasons = {path: record["reason"] for path, record in state.items() if record["reason"]}
    assert sorted(reasons) == ["text.jpg", "truncated.jpg", "zero.jpg"]
    assert reasons["zero.jpg"] == "decode: empty file (0 bytes)"
    assert reasons["truncated.jpg"].startswith("decode: corrupt or truncated image: ")
    assert reasons["text.jpg"] == (
        "decode: not an image file that Pillow can read (starts with b'not a ph')"
    )
    converted = {path: record["converted_from"] for path, record in state.items()}
    assert converted == {
        **dict.fromkeys(reasons),
        "cmyk.jpg": "CMYK",
        "sixteen.png": None,  # 16-bit RGB: Pillow reads it as 8-bit RGB
        "rgba.png": "RGBA",
        "grey.png": "L",
        "png-named.jpg": None,
    }
    # The RGBA photo is the RGB one with an alpha: the same matte.
    np.testing.assert_array_equal(
        read_output(output / "matte/rgba.png"), read_output(output / "matte/png-named.png")
    )
    for name in reasons:
        (source / name).unlink()
    assert main(arguments) == 0  # every remaining photo done: success


def test_usage_errors_name_the_parameter(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    (tmp_path / "in").mkdir()
    base = [str(tmp_path / "in"), str(tmp_path / "out"), "--model-weight-file", str(CHECKPOINT)]

    assert main([*base, "--input-size", "100"]) == 2
    assert "input_size: expected a multiple of 32" in capsys.readouterr().err
    with pytest.raises(SystemExit) as refused:  # argparse's own exit for a bad option
        main([*base, "--outputs", "matte,alpha"])
    assert refused.value.code == 2
    assert "outputs: expected one or more of matte, cutout, composite" in capsys.readouterr().err
    assert main([*base, "--background", "image"]) == 2
    assert "background_image: required when background is 'image'" in capsys.readouterr().err
