"""The batch runner's file handling, without the network: inputs, decoding of awkward files,
output names, atomic writes and the manifest."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from batch_support import pillow_bytes, small_photo
from modnet import to_rgb_uint8
from modnet.batch import DecodeError, Manifest, ManifestLockedError, collect_inputs, decode_image
from modnet.batch.outputs import OutputLayout, write_atomic

# --- inputs --------------------------------------------------------------------------------------


def test_folder_walk_is_recursive_sorted_and_skips_hidden_and_output(tmp_path: Path) -> None:
    for name in (
        "b.jpg",
        "a/c.PNG",
        "a/deep/d.webp",
        ".hidden.jpg",
        ".cache/e.jpg",
        "notes.txt",
        "out/matte/x.png",
    ):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(b"x")

    tree = collect_inputs(tmp_path, skip=tmp_path / "out")

    assert [file.relative for file in tree.files] == ["a/c.PNG", "a/deep/d.webp", "b.jpg"]
    assert tree.files[0].size == 1


def test_list_file_paths_are_relative_to_its_folder_and_deduplicated(tmp_path: Path) -> None:
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "p.jpg").write_bytes(b"12")
    listing = tmp_path / "photos.txt"
    listing.write_text(f"# comment\nx/p.jpg\n\n{tmp_path}/x/../x/p.jpg\nmissing.jpg\n")

    tree = collect_inputs(listing)

    assert [(f.relative, f.size) for f in tree.files] == [("missing.jpg", -1), ("x/p.jpg", 2)]


def test_listed_path_outside_root_is_refused(tmp_path: Path) -> None:
    listing = tmp_path / "list" / "photos.txt"
    listing.parent.mkdir()
    listing.write_text("../elsewhere.jpg\n")

    with pytest.raises(ValueError, match=r"not under the root folder .*--root"):
        collect_inputs(listing)
    assert collect_inputs(listing, root=tmp_path).files[0].relative == "elsewhere.jpg"


def test_input_that_is_neither_folder_nor_list_is_refused(tmp_path: Path) -> None:
    (tmp_path / "photo.jpg").write_bytes(b"x")
    with pytest.raises(ValueError, match=r"input: expected a folder of photos or a \.txt/\.lst"):
        collect_inputs(tmp_path / "photo.jpg")


# --- decoding ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def photo(sample_rgb: np.ndarray) -> np.ndarray:
    return small_photo(sample_rgb, 96)


def test_broken_files_are_refused_with_a_reason(tmp_path: Path, photo: np.ndarray) -> None:
    jpeg = cv2.imencode(".jpg", photo)[1].tobytes()

    with pytest.raises(DecodeError, match=r"empty file \(0 bytes\)"):
        decode_image(b"")
    with pytest.raises(DecodeError, match="truncated"):
        decode_image(jpeg[: len(jpeg) // 2])
    with pytest.raises(DecodeError, match=r"not an image file .*b'hello"):
        decode_image(b"hello, not a photo")


def test_oversized_photo_is_refused_from_its_header(photo: np.ndarray) -> None:
    png = cv2.imencode(".png", photo)[1].tobytes()
    with pytest.raises(DecodeError, match=r"96 x 96 is 0.0 megapixels, more than max_megap"):
        decode_image(png, max_megapixels=0.005)


def test_formats_are_converted_to_rgb_and_say_from_what(photo: np.ndarray) -> None:
    rgba = np.dstack((photo, np.full(photo.shape[:2], 7, np.uint8)))
    grey = photo[..., 1]
    grey16 = grey.astype(np.uint16) * 257 + 100
    cases = {
        "RGBA": (pillow_bytes(Image.fromarray(rgba), "PNG"), photo),
        "L": (pillow_bytes(Image.fromarray(grey), "PNG"), np.dstack([grey] * 3)),
        "I;16": (cv2.imencode(".png", grey16)[1].tobytes(), to_rgb_uint8(grey16)),
        None: (cv2.imencode(".png", photo[..., ::-1])[1].tobytes(), photo),  # PNG bytes
    }
    for mode, (data, expected) in cases.items():
        decoded = decode_image(data)
        assert decoded.converted_from == mode
        np.testing.assert_array_equal(decoded.rgb, expected, err_msg=str(mode))


def test_cmyk_jpeg_is_converted_close_to_the_photo(photo: np.ndarray) -> None:
    data = pillow_bytes(Image.fromarray(photo).convert("CMYK"), "JPEG")

    decoded = decode_image(data)

    assert decoded.converted_from == "CMYK"
    assert np.abs(decoded.rgb.astype(int) - photo).mean() < 6  # JPEG loss only


def test_exif_orientation_is_applied(photo: np.ndarray) -> None:
    image = Image.fromarray(photo[:, :48])
    exif = image.getexif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to view

    decoded = decode_image(pillow_bytes(image, "PNG", exif=exif))

    np.testing.assert_array_equal(decoded.rgb, np.rot90(photo[:, :48], k=-1))


# --- output names and writes ---------------------------------------------------------------------


def test_outputs_mirror_inputs_and_equal_stems_keep_their_extension(tmp_path: Path) -> None:
    formats = {"matte": "png", "composite": "jpg"}
    inputs = ["a.jpg", "sub/a.jpg", "sub/a.png", "sub/b.tif"]

    layout = OutputLayout.for_inputs(tmp_path, formats, inputs)

    names = [layout.targets(relative) for relative in inputs]
    assert names == [
        {"matte": "matte/a.png", "composite": "composite/a.jpg"},
        {"matte": "matte/sub/a.jpg.png", "composite": "composite/sub/a.jpg.jpg"},
        {"matte": "matte/sub/a.png.png", "composite": "composite/sub/a.png.jpg"},
        {"matte": "matte/sub/b.png", "composite": "composite/sub/b.jpg"},
    ]


def test_failed_write_leaves_the_old_file_and_no_partial_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "out" / "x.png"
    write_atomic(target, b"old")

    def no_space(source: object, destination: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr("os.replace", no_space)
    with pytest.raises(OSError, match="disk full"):
        write_atomic(target, b"new")

    assert target.read_bytes() == b"old"
    assert sorted(p.name for p in target.parent.iterdir()) == ["x.png"]


def test_leftover_of_a_killed_write_is_removed_by_the_next(tmp_path: Path) -> None:
    target = tmp_path / "x[1].png"  # glob characters in the name
    leftover = tmp_path / ".x[1].png.0123456789ab.part"
    leftover.write_bytes(b"half")

    write_atomic(target, b"whole")

    assert sorted(p.name for p in tmp_path.iterdir()) == ["x[1].png"]
    assert target.read_bytes() == b"whole"


# --- manifest ------------------------------------------------------------------------------------


def record(path: str, status: str = "done") -> dict[str, object]:
    return {"path": path, "status": status, "params": "p", "size": 1, "mtime_ns": 1, "outputs": {}}


def test_manifest_drops_a_cut_line_keeps_the_last_record_and_compacts(tmp_path: Path) -> None:
    path = tmp_path / "manifest.jsonl"
    lines = [json.dumps(record("a", "failed")), json.dumps(record("b")), json.dumps(record("a"))]
    path.write_text("\n".join(lines) + '\n{"path": "c", "sta')

    with Manifest(path) as manifest:
        assert {k: v["status"] for k, v in manifest.records.items()} == {"a": "done", "b": "done"}
        manifest.append(record("c"))
        manifest.compact()

    assert [json.loads(line)["path"] for line in path.read_text().splitlines()] == ["a", "b", "c"]


def test_second_run_on_the_same_manifest_is_refused(tmp_path: Path) -> None:
    with (
        Manifest(tmp_path / "m.jsonl"),
        pytest.raises(ManifestLockedError, match="in use by another run"),
    ):
        Manifest(tmp_path / "m.jsonl")
    Manifest(tmp_path / "m.jsonl").close()  # free again once the first is closed
