"""The ResNet family on images: the published parameter counts, a trivial image task learnt from
scratch, early stopping with the best weights kept, save and load, and image inputs."""

from __future__ import annotations

import base64
import math
from collections.abc import Iterator, Mapping
from pathlib import Path

import numpy as np
import pytest
import torch

from pipelines.datasets.files import DatasetFiles
from pipelines.errors import InvalidRequestError
from pipelines.learning.base import EarlyStopping, Fitted, TrainData
from pipelines.learning.image_data import decode_images, image_train_data
from pipelines.learning.images import load_resnet
from pipelines.learning.registry import (
    MODEL_TYPES,
    check_model_type,
    load_predictor,
    validate_hyperparameters,
)
from pipelines.learning.resnet import ResNet, ResNetConfig, count_parameters
from tests.image_support import image_bytes, squares

FAST = {"base_width": 8, "epochs": 3, "batch_size": 32, "learning_rate": 0.01}


def _squares_data(train: int = 160, val: int = 80, size: int = 24) -> TrainData:
    x_train, y_train = squares(train, size, seed=1)
    x_val, y_val = squares(val, size, seed=2)
    scale = np.float32(1 / 255)
    return TrainData("classification", x_train * scale, y_train, x_val * scale, y_val, (), ("red", "blue"))


class Epochs:
    def __init__(self) -> None:
        self.seen: list[tuple[int, int, dict[str, float]]] = []

    def __call__(self, epoch: int, total: int, metrics: Mapping[str, float]) -> None:
        self.seen.append((epoch, total, dict(metrics)))


@pytest.fixture(autouse=True, scope="module")
def one_thread() -> Iterator[None]:
    """One torch thread: on a busy shared CPU, more threads than free cores wait on each other."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def squares_data() -> TrainData:
    return _squares_data()


@pytest.fixture(scope="module")
def fitted(squares_data: TrainData) -> tuple[Fitted, Epochs]:
    epochs = Epochs()
    result = MODEL_TYPES["resnet18"].trainer(squares_data, FAST, EarlyStopping(), epochs)
    return result, epochs


@pytest.mark.parametrize(("depth", "count"), [(18, 11_689_512), (34, 21_797_672), (50, 25_557_032)])
def test_parameter_counts_are_the_published_ones(depth: int, count: int) -> None:
    model = ResNet(ResNetConfig(depth, num_classes=1000))
    assert count_parameters(model) == count
    logits = model.eval()(torch.zeros(1, 3, 224, 224))
    assert logits.shape == (1, 1000)


def test_red_and_blue_squares_are_told_apart_on_held_out_images(
    fitted: tuple[Fitted, Epochs], squares_data: TrainData
) -> None:
    result, epochs = fitted
    probabilities = result.predictor.predict_proba(squares_data.x_val)
    assert probabilities.shape == (80, 2) and np.allclose(probabilities.sum(axis=1), 1.0)
    accuracy = float((probabilities.argmax(axis=1) == squares_data.y_val).mean())
    assert accuracy >= 0.95
    assert [(e, t) for e, t, _ in epochs.seen] == [(1, 3), (2, 3), (3, 3)]
    assert all(set(m) == {"loss", "accuracy", "val_loss", "val_accuracy"} for _, _, m in epochs.seen)
    assert result.history["val_accuracy"] == [m["val_accuracy"] for _, _, m in epochs.seen]
    assert result.history["val_accuracy"][-1] == pytest.approx(accuracy)
    assert result.best_epoch == 3 and result.stopped_epoch is None
    assert result.parameters == count_parameters(ResNet(ResNetConfig(18, 2, base_width=8)))
    assert result.architecture["image_shape"] == [24, 24, 3] and result.architecture["depth"] == 18


def test_saved_and_loaded_it_predicts_the_same(
    fitted: tuple[Fitted, Epochs], squares_data: TrainData, tmp_path: Path
) -> None:
    result, _ = fitted
    result.predictor.save(tmp_path / "model")
    assert sorted(p.name for p in (tmp_path / "model").iterdir()) == ["model.json", "weights.npz"]
    loaded = load_predictor("resnet18", tmp_path / "model")
    expected = result.predictor.predict_proba(squares_data.x_val)
    assert np.array_equal(loaded.predict_proba(squares_data.x_val), expected)
    assert np.array_equal(load_resnet(tmp_path / "model").predict_proba(squares_data.x_val), expected)
    with pytest.raises(InvalidRequestError, match=r"images of shape \[16, 16, 3\] given"):
        loaded.predict_proba(squares_data.x_val[:, :16, :16])


def test_early_stopping_ends_the_run_and_keeps_the_best_weights() -> None:
    squares_data = _squares_data(96, 48, size=16)
    stopping = EarlyStopping(enabled=True, patience=2, monitor="val_accuracy")
    hyper = {**FAST, "epochs": 30, "augment": "flip", "optimizer": "adamw"}
    result = MODEL_TYPES["resnet18"].trainer(squares_data, hyper, stopping, Epochs())
    assert result.stopped_epoch is not None and result.stopped_epoch < 30
    assert len(result.history["loss"]) == result.stopped_epoch
    best = result.best_epoch
    accuracies = result.history["val_accuracy"]
    assert best == result.stopped_epoch - 2 and accuracies[best - 1] == max(accuracies)
    kept = result.predictor.predict_proba(squares_data.x_val)
    kept_accuracy = float((kept.argmax(axis=1) == squares_data.y_val).mean())
    kept_loss = -float(np.mean(np.log(kept[np.arange(len(kept)), squares_data.y_val])))
    assert kept_accuracy == pytest.approx(accuracies[best - 1])
    assert kept_loss == pytest.approx(result.history["val_loss"][best - 1], rel=1e-3, abs=1e-5)


def test_the_resnets_are_model_types_of_images_with_their_rules() -> None:
    values, errors = validate_hyperparameters("resnet50", {"base_width": 16, "augment": "flip"})
    assert errors == [] and values["base_width"] == 16 and values["augment"] == "flip"
    assert values["epochs"] == 10 and values["learning_rate"] == 0.001 and values["optimizer"] == "adam"
    _, errors = validate_hyperparameters(
        "resnet18", {"base_width": 2, "augment": "rotate", "batch_size": 1, "hidden_layers": [4]}
    )
    assert {e.field: e.message for e in errors} == {
        "hyperparameters.hidden_layers": errors[0].message,
        "hyperparameters.base_width": "must be in [4, 128]",
        "hyperparameters.augment": "must be one of: none, flip",
        "hyperparameters.batch_size": "must be in [2, 4096]",
    }
    assert errors[0].message.startswith("the resnet18 model type does not use hidden_layers")
    assert check_model_type("resnet34", "classification", False, images=True).name == "resnet34"
    # on tables a ResNet is a residual MLP, of classes or values
    assert check_model_type("resnet18", "regression", False).name == "resnet18"
    with pytest.raises(InvalidRequestError, match="'lightgbm' trains on tables; model types for"):
        check_model_type("lightgbm", "classification", False, images=True)
    with pytest.raises(InvalidRequestError, match=r"for this dataset: resnet18, resnet34, resnet50$"):
        check_model_type("lightgbm", "classification", False, images=True)
    with pytest.raises(InvalidRequestError, match=r"hyperparameters\.learning_rate: must be a number"):
        MODEL_TYPES["resnet34"].trainer(
            _squares_data(4, 2, size=16), {"learning_rate": math.nan}, EarlyStopping(), Epochs()
        )


@pytest.mark.skipif(torch.cuda.is_available(), reason="the refusal is for machines without CUDA")
def test_a_cuda_device_without_cuda_is_refused(squares_data: TrainData) -> None:
    with pytest.raises(InvalidRequestError, match="no CUDA device is available"):
        MODEL_TYPES["resnet18"].trainer(squares_data, FAST, EarlyStopping(), Epochs(), device="cuda")


def test_base64_images_are_decoded_to_the_model_shape() -> None:
    png = base64.b64encode(image_bytes((255, 0, 0), (40, 10))).decode()
    jpeg = "data:image/jpeg;base64," + base64.b64encode(image_bytes((0, 0, 255), fmt="JPEG")).decode()
    x = decode_images([png, jpeg], (8, 6, 3))
    assert x.shape == (2, 8, 6, 3) and x.dtype == np.float32
    assert x[0, ..., 0].min() == 1.0 and x[0, ..., 2].max() == 0.0 and x[1, ..., 2].min() > 0.9
    cases = [
        (["!!not base64!!"], r"inputs\[0\] is not valid base64"),
        ([png, base64.b64encode(b"plain text").decode()], r"inputs\[1\] is not a readable PNG or JPEG"),
        ([png, 7], r"inputs\[1\] is a int, not a base64 string"),
        ([], "give a list of one or more"),
        ([png] * 257, "at most 256"),
    ]
    for images, problem in cases:
        with pytest.raises(InvalidRequestError, match=problem):
            decode_images(images, (8, 6))
    with pytest.raises(InvalidRequestError, match=r"^input\[0\] declares 40x10 pixels"):
        decode_images([png], (8, 6), field="input", max_pixels=100)


def test_a_stored_image_dataset_is_split_by_class(tmp_path: Path) -> None:
    files = DatasetFiles(tmp_path)
    dataset_id = "5d0c7d1e-8a4b-4d8e-9f3a-2b1c0d9e8f7a"
    files.folder(dataset_id).mkdir()
    images = np.zeros((50, 4, 4, 3), dtype=np.uint8)
    images[:, 0, 0, 0] = np.arange(50)  # each image marked with its row
    labels = np.array(["cat"] * 40 + ["dog"] * 10)
    files.write_images(dataset_id, images, labels)
    data = image_train_data(files, dataset_id, validation_split=0.2, seed=3)
    assert data.classes == ("cat", "dog") and data.x_train.dtype == np.float32
    assert np.bincount(data.y_val).tolist() == [8, 2] and np.bincount(data.y_train).tolist() == [32, 8]
    rows = np.concatenate([data.x_train, data.x_val])[:, 0, 0, 0] * 255
    assert sorted(np.rint(rows).astype(int).tolist()) == list(range(50))
    marks = np.rint(data.x_train[:, 0, 0, 0] * 255).astype(int)
    assert (labels[marks] == np.array(data.classes)[data.y_train]).all()  # each image keeps its label
