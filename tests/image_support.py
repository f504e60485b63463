"""Generated images for the image dataset and image model tests: PNG / JPEG bytes, ZIPs of class
folders, and arrays whose class is visually trivial (red or blue squares)."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Mapping

import numpy as np
from numpy.typing import NDArray
from PIL import Image

COLOURS = {"red": (220, 30, 30), "blue": (30, 30, 220)}


def image_bytes(
    colour: tuple[int, int, int] = (220, 30, 30),
    size: tuple[int, int] = (20, 12),
    fmt: str = "PNG",
    mode: str = "RGB",
) -> bytes:
    """A ``size`` (width, height) image of one colour in ``mode``, encoded as ``fmt``."""
    image = Image.new("RGB", size, colour)
    if mode != "RGB":
        image = image.convert(mode)
    out = io.BytesIO()
    image.save(out, format=fmt)
    return out.getvalue()


def zip_of(members: Mapping[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return out.getvalue()


def squares(n: int, size: int = 32, seed: int = 0) -> tuple[NDArray[np.uint8], NDArray[np.int64]]:
    """``n`` noisy dark images, each with a square of its class's colour (0 red, 1 blue) at a random
    place: (n, size, size, 3) uint8 and the class of each."""
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 60, (n, size, size, 3), dtype=np.uint8)
    labels = rng.permutation(np.arange(n) % 2).astype(np.int64)
    side = size // 2
    for i, label in enumerate(labels):
        row, col = rng.integers(0, size - side, 2)
        images[i, row : row + side, col : col + side] = COLOURS["red" if label == 0 else "blue"]
    return images, labels


def squares_zip(per_class: int, top: str = "shapes/", seed: int = 0) -> bytes:
    """A ZIP of ``per_class`` red and blue square images in folders ``red`` and ``blue`` (under
    ``top``), PNG and JPEG alternating, of varied sizes."""
    images, labels = squares(2 * per_class, size=24, seed=seed)
    members: dict[str, bytes] = {}
    for i, (pixels, label) in enumerate(zip(images, labels, strict=True)):
        fmt = "PNG" if i % 2 else "JPEG"
        picture = Image.fromarray(pixels).resize((24 + i % 5, 24 + i % 3))
        out = io.BytesIO()
        picture.save(out, format=fmt)
        name = "red" if label == 0 else "blue"
        members[f"{top}{name}/img{i}.{'png' if fmt == 'PNG' else 'jpg'}"] = out.getvalue()
    return zip_of(members)
