"""Image datasets: ZIPs of class folders decoded to one array, and every bad ZIP refused naming
the member at fault."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from pipelines.datasets.files import DatasetFiles
from pipelines.datasets.images import ImageLimits, ImageSet, decode_image, image_metadata, read_image_zip
from pipelines.errors import InvalidRequestError
from tests.image_support import image_bytes, squares_zip, zip_of

LIMITS = ImageLimits(height=16, width=8, max_images=100, max_pixels=10_000, max_unzipped_bytes=10_000_000)
RED, BLUE = (220, 30, 30), (30, 30, 220)


def _read(tmp_path: Path, content: bytes, limits: ImageLimits = LIMITS) -> ImageSet:
    path = tmp_path / "upload.zip"
    path.write_bytes(content)
    return read_image_zip(path, origin="pics.zip", limits=limits)


def test_class_folders_become_labels_and_every_image_the_configured_shape(tmp_path: Path) -> None:
    content = zip_of(
        {
            "red/a.png": image_bytes(RED, (40, 30)),
            "red/b.JPG": image_bytes(RED, (5, 7), "JPEG"),
            "red/c.png": image_bytes(RED, (12, 12), mode="RGBA"),
            "blue/d.jpeg": image_bytes(BLUE, (64, 64), "JPEG", mode="L"),
            "blue/e.png": image_bytes(BLUE, (9, 9), mode="P"),
            "__MACOSX/red/._a.png": b"resource fork",
            "red/.DS_Store": b"finder",
        }
    )
    path = tmp_path / "upload.zip"
    path.write_bytes(content)
    got = read_image_zip(path, origin="pics.zip", limits=LIMITS)
    assert got.images.shape == (5, 16, 8, 3) and got.images.dtype == np.uint8
    assert sorted(got.labels.tolist()) == ["blue", "blue", "red", "red", "red"]
    reds = got.images[got.labels == "red"].reshape(-1, 3).mean(axis=0)
    blues = got.images[got.labels == "blue"].reshape(-1, 3).mean(axis=0)
    assert reds[0] > 180 and reds[2] < 60  # the colour survives resizing and RGBA / JPEG decoding
    assert blues[2] > 120 and blues[0] < 120  # the greyscale JPEG is grey: blue's luminance in all three
    meta = image_metadata(got)
    assert meta["rows"] == 5 and meta["image_shape"] == [16, 8, 3] and meta["num_classes"] == 2
    assert meta["classes"] == {"red": 3, "blue": 2} and meta["image_formats"] == {"PNG": 3, "JPEG": 2}


def test_a_single_top_folder_is_set_aside(tmp_path: Path) -> None:
    path = tmp_path / "upload.zip"
    path.write_bytes(squares_zip(6, top="my pictures/"))
    got = read_image_zip(path, origin="pics.zip", limits=LIMITS)
    assert len(got.labels) == 12 and set(got.labels.tolist()) == {"red", "blue"}


def test_stored_images_come_back_as_written(tmp_path: Path) -> None:
    files = DatasetFiles(tmp_path)
    dataset_id = "0b6a3c4e-3f59-4a5e-9d1c-3c2b1a0f9e8d"
    files.folder(dataset_id).mkdir()
    images = np.arange(2 * 4 * 4 * 3, dtype=np.uint8).reshape(2, 4, 4, 3)
    files.write_images(dataset_id, images, np.array(["cat", "dog"]))
    got, labels = files.read_images(dataset_id)
    assert np.array_equal(got, images) and labels.tolist() == ["cat", "dog"]
    assert sorted(p.name for p in files.folder(dataset_id).iterdir()) == ["images.npy", "labels.npy"]
    files.remove(dataset_id)
    with pytest.raises(InvalidRequestError, match="was deleted while it was processed"):
        files.write_images(dataset_id, images, np.array(["cat", "dog"]))
    with pytest.raises(InvalidRequestError, match="holds no processed images"):
        files.read_images(dataset_id)


def _gif() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (4, 4)).save(out, format="GIF")
    return out.getvalue()


GOOD = {"red/a.png": image_bytes(RED), "blue/b.png": image_bytes(BLUE)}
BAD_ZIPS = [
    ({**GOOD, "loose.png": image_bytes()}, "'pics.zip:loose.png' is not in a class folder"),
    ({**GOOD, "red/deep/x.png": image_bytes()}, "'pics.zip:red/deep/x.png' is in a folder inside a class"),
    ({**GOOD, "red/notes.txt": b"hello"}, "'pics.zip:red/notes.txt' is not a PNG or JPEG file"),
    ({**GOOD, "red/broken.png": b"\x89PNG not really"}, "'pics.zip:red/broken.png' is not a readable PNG"),
    ({**GOOD, "red/anim.png": _gif()}, "'pics.zip:red/anim.png' is a GIF image"),
    (
        {**GOOD, "red/huge.png": image_bytes(size=(200, 100))},
        "'pics.zip:red/huge.png' declares 200x100 pixels",
    ),
    ({**GOOD, "red/../../etc/x.png": image_bytes()}, "'pics.zip:red/../../etc/x.png' has an unsafe path"),
    ({"red/a.png": image_bytes(), "red/b.png": image_bytes()}, "single class folder 'red'"),
    ({"readme/": b""}, "holds no image"),
]


@pytest.mark.parametrize(("members", "problem"), BAD_ZIPS)
def test_bad_zips_are_refused_naming_the_member(
    tmp_path: Path, members: dict[str, bytes], problem: str
) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        _read(tmp_path, zip_of(members))
    assert problem in str(caught.value)


def test_counts_bytes_and_the_archive_itself_are_bounded(tmp_path: Path) -> None:
    many = {f"{c}/{i}.png": image_bytes() for c in ("a", "b") for i in range(4)}
    few = ImageLimits(16, 8, max_images=7, max_pixels=10_000, max_unzipped_bytes=10_000_000)
    with pytest.raises(InvalidRequestError, match="holds 8 images; at most 7 are allowed"):
        _read(tmp_path, zip_of(many), few)
    small = ImageLimits(16, 8, max_images=100, max_pixels=10_000, max_unzipped_bytes=500)
    with pytest.raises(InvalidRequestError, match=r"expands to 0\.0 MB; the limit is 0 MB"):
        _read(tmp_path, zip_of(many), small)
    with pytest.raises(InvalidRequestError, match=r"'pics\.zip' is not a readable ZIP archive"):
        _read(tmp_path, b"PK\x03\x04 not a zip")


def test_decode_image_refuses_what_is_no_picture() -> None:
    pixels = decode_image(image_bytes(BLUE, (3, 3), "JPEG"), 4, 5, max_pixels=100, origin="x")
    assert pixels.shape == (4, 5, 3) and pixels[..., 2].min() > 180
    with pytest.raises(InvalidRequestError, match=r"^x is not a readable PNG or JPEG image: data of no"):
        decode_image(b"", 4, 5, max_pixels=100, origin="x")
