"""Image inputs of the training platform: a stored image dataset as ``TrainData`` (a stratified
split), and base64-encoded images of a prediction request as the array a model takes."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from pipelines.datasets.files import DatasetFiles
from pipelines.datasets.images import decode_image
from pipelines.errors import InvalidRequestError
from pipelines.learning.base import TrainData
from pipelines.learning.data import split_rows

__all__ = ["MAX_IMAGE_BYTES", "MAX_PREDICT_IMAGES", "decode_images", "image_train_data"]

MAX_IMAGE_BYTES = 10_000_000  # one encoded image of a prediction request
MAX_PREDICT_IMAGES = 256
_MAX_PIXELS = 40_000_000


def decode_images(
    encoded: Sequence[str], shape: Sequence[int], *, field: str = "inputs", max_pixels: int = _MAX_PIXELS
) -> NDArray[np.float32]:
    """Base64 PNG or JPEG images (a ``data:image/...;base64,`` prefix allowed) as float32 NHWC in
    [0, 1] resized to ``shape`` (height, width[, channels]); InvalidRequestError names the bad one
    as ``field[i]``."""
    if not isinstance(encoded, list | tuple) or not encoded:
        raise InvalidRequestError(f"{field}: give a list of one or more base64-encoded PNG or JPEG images")
    if len(encoded) > MAX_PREDICT_IMAGES:
        raise InvalidRequestError(
            f"{field}: {len(encoded)} images given; at most {MAX_PREDICT_IMAGES} a request"
        )
    height, width = int(shape[0]), int(shape[1])
    out = np.empty((len(encoded), height, width, 3), dtype=np.float32)
    for index, text in enumerate(encoded):
        origin = f"{field}[{index}]"
        if not isinstance(text, str):
            raise InvalidRequestError(f"{origin} is a {type(text).__name__}, not a base64 string")
        body = text.split(",", 1)[1] if text.startswith("data:") and "," in text else text
        if len(body) > MAX_IMAGE_BYTES * 4 // 3 + 4:
            raise InvalidRequestError(
                f"{origin} is larger than the {MAX_IMAGE_BYTES / 1e6:.0f} MB an image may be"
            )
        try:
            data = base64.b64decode("".join(body.split()), validate=True)
        except (binascii.Error, ValueError):
            raise InvalidRequestError(f"{origin} is not valid base64") from None
        out[index] = decode_image(data, height, width, max_pixels=max_pixels, origin=origin)
    out /= 255.0
    return out


def image_train_data(
    files: DatasetFiles, dataset_id: str, *, validation_split: float = 0.2, seed: int = 0
) -> TrainData:
    """A stored image dataset as ``TrainData``: images scaled to [0, 1], classes in name order,
    split per class (``split_rows``)."""
    images, labels = files.read_images(dataset_id)
    classes, y = np.unique(labels, return_inverse=True)
    codes = y.astype(np.int64)
    train, val = split_rows(len(codes), validation_split, seed=seed, stratify=codes)
    return TrainData(
        task="classification",
        x_train=_scaled(images, train),
        y_train=y[train].astype(np.int64),
        x_val=_scaled(images, val),
        y_val=y[val].astype(np.int64),
        feature_names=(),
        classes=tuple(str(c) for c in classes),
    )


def _scaled(images: NDArray[np.uint8], rows: NDArray[np.int64]) -> NDArray[np.float32]:
    out = images[rows].astype(np.float32)
    out /= 255.0
    return out
