"""Image datasets: a ZIP of one folder per class holding PNG or JPEG images.

Every image is decoded with Pillow, converted to RGB and resized to the configured shape; the set is
stored as one uint8 array (n, height, width, 3) with the class names beside it, which a trainer
reads back in one go. A single folder around the class folders (as zipping a folder makes) is
tolerated. Everything is bounded before it is decoded: the number of images, the bytes the members
unpack to, and the pixels each image declares in its header (a small PNG can declare a huge canvas).
Members are read into memory, never extracted, so no member path can reach the server's folders.
"""

from __future__ import annotations

import io
import warnings
import zipfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np
from numpy.typing import NDArray
from PIL import Image, UnidentifiedImageError

from pipelines.datasets.formats import data_members, fail
from pipelines.errors import InvalidRequestError

__all__ = [
    "IMAGE_FORMATS",
    "ImageLimits",
    "ImageSet",
    "decode_image",
    "image_metadata",
    "read_image_zip",
]

IMAGE_FORMATS = ("PNG", "JPEG")  # Pillow's names, checked on the content, not the suffix
_MAX_CLASSES = 1_000
_SHOWN_CLASSES = 50


@dataclass(frozen=True, slots=True)
class ImageLimits:
    height: int
    width: int
    max_images: int
    max_pixels: int  # per image, as its header declares it
    max_unzipped_bytes: int


@dataclass(frozen=True, slots=True)
class ImageSet:
    """The decoded images (n, height, width, 3) uint8 and each one's class name."""

    images: NDArray[np.uint8]
    labels: NDArray[np.str_]
    formats: dict[str, int]


def decode_image(data: bytes, height: int, width: int, *, max_pixels: int, origin: str) -> NDArray[np.uint8]:
    """One PNG or JPEG as an RGB uint8 array (height, width, 3), or InvalidRequestError that starts
    with ``origin`` (how the caller names the image, e.g. ``file 'a.zip:cat/1.png'``)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            if image.format not in IMAGE_FORMATS:
                raise InvalidRequestError(f"{origin} is a {image.format} image; PNG or JPEG are accepted")
            size = f"{image.width}x{image.height}"
            if image.width * image.height > max_pixels:
                raise InvalidRequestError(
                    f"{origin} declares {size} pixels; at most {max_pixels:,} are allowed"
                )
            if image.format == "JPEG":  # decode at a reduced scale where the target is small
                image.draft("RGB", (width, height))
            rgb = image.convert("RGB").resize((width, height), Image.Resampling.BILINEAR)
            return np.asarray(rgb, dtype=np.uint8)
    except InvalidRequestError:
        raise
    except Exception as exc:  # UnidentifiedImageError, truncated data, DecompressionBomb*, zlib errors
        reason = (
            "data of no known format"
            if isinstance(exc, UnidentifiedImageError)
            else f"{type(exc).__name__}: {exc}"
        )
        raise InvalidRequestError(f"{origin} is not a readable PNG or JPEG image: {reason}") from None


def read_image_zip(path: Path, *, origin: str, limits: ImageLimits) -> ImageSet:
    """The images of the ZIP at ``path`` (uploaded as ``origin``), their folder names as classes."""
    try:
        archive = zipfile.ZipFile(path)
    except Exception as exc:  # BadZipFile, NotImplementedError (version), UnicodeDecodeError (names)
        fail(origin, f"is not a readable ZIP archive: {type(exc).__name__}: {exc}")
    with archive:
        members = data_members(archive)
        named = _class_members(members, origin)
        if len(named) > limits.max_images:
            fail(origin, f"holds {len(named):,} images; at most {limits.max_images:,} are allowed")
        total = sum(m.file_size for m, _ in named)
        if total > limits.max_unzipped_bytes:
            fail(
                origin,
                f"expands to {total / 1e6:.1f} MB; the limit is {limits.max_unzipped_bytes / 1e6:.0f} MB",
            )
        images = np.empty((len(named), limits.height, limits.width, 3), dtype=np.uint8)
        formats: Counter[str] = Counter()
        left = limits.max_unzipped_bytes
        for index, (member, _) in enumerate(named):
            inner = f"{origin}:{member.filename}"
            data = _read_member(archive, member, inner, left)
            left -= len(data)
            images[index] = decode_image(
                data, limits.height, limits.width, max_pixels=limits.max_pixels, origin=f"file {inner!r}"
            )
            formats["JPEG" if data[:2] == b"\xff\xd8" else "PNG"] += 1
    labels = np.array([label for _, label in named], dtype=np.str_)
    return ImageSet(images, labels, dict(formats))


def _read_member(archive: zipfile.ZipFile, member: zipfile.ZipInfo, inner: str, left: int) -> bytes:
    """The member's bytes, refused once it unpacks past the ``left`` the dataset may still take
    (its directory entry may understate its size)."""
    if member.flag_bits & 0x1:
        fail(inner, "is encrypted")
    try:
        with archive.open(member) as src:
            data = src.read(left + 1)
    except Exception as exc:  # BadZipFile (CRC), NotImplementedError (method), zlib.error
        fail(inner, f"cannot be extracted: {type(exc).__name__}: {exc}")
    if len(data) > left:
        fail(inner, "unpacks past the bytes a dataset may hold")
    return data


def _class_members(members: list[zipfile.ZipInfo], origin: str) -> list[tuple[zipfile.ZipInfo, str]]:
    """Each image member with its class (the folder it is in), a common top folder set aside."""
    if not members:
        fail(origin, "holds no image; upload a ZIP with one folder of PNG or JPEG images per class")
    paths = [_member_parts(m, origin) for m in members]
    tops = {parts[0] for parts in paths}
    if len(tops) == 1 and all(len(parts) >= 3 for parts in paths):
        paths = [parts[1:] for parts in paths]
    named: list[tuple[zipfile.ZipInfo, str]] = []
    for member, parts in zip(members, paths, strict=True):
        inner = f"{origin}:{member.filename}"
        if len(parts) != 2:
            where = "is not in a class folder" if len(parts) == 1 else "is in a folder inside a class folder"
            fail(inner, f"{where}; the ZIP holds one folder of images per class")
        if PurePosixPath(parts[1]).suffix.lower() not in (".png", ".jpg", ".jpeg"):
            fail(inner, "is not a PNG or JPEG file (.png, .jpg, .jpeg); the ZIP holds only images")
        named.append((member, parts[0]))
    classes = {label for _, label in named}
    if len(classes) < 2:
        fail(origin, f"holds a single class folder {next(iter(classes))!r}; classification needs two")
    if len(classes) > _MAX_CLASSES:
        fail(origin, f"holds {len(classes)} class folders; at most {_MAX_CLASSES} are allowed")
    return named


def _member_parts(member: zipfile.ZipInfo, origin: str) -> tuple[str, ...]:
    name = member.filename
    parts = PurePosixPath(name).parts
    if name.startswith("/") or "\\" in name or any(p in ("..", ".") or p.endswith(":") for p in parts):
        fail(f"{origin}:{name}", "has an unsafe path (absolute, drive or '..'); member paths are relative")
    return tuple(p.strip() for p in parts)


def image_metadata(images: ImageSet) -> dict[str, Any]:
    """What the catalogue shows of an image dataset (``rows`` are images)."""
    names, counts = np.unique(images.labels, return_counts=True)
    order = np.argsort(-counts, kind="stable")
    shown = {str(names[i]): int(counts[i]) for i in order[:_SHOWN_CLASSES]}
    return {
        "rows": len(images.labels),
        "columns": None,
        "features": [],
        "target": "class",
        "target_source": "folder names",
        "image_shape": [int(n) for n in images.images.shape[1:]],
        "image_formats": images.formats,
        "num_classes": len(names),
        "classes": shown,
        "target_summary": {"num_classes": len(names), "classes": shown},
    }
