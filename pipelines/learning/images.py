"""Image classifiers: the ResNet family (``resnet18``, ``resnet34``, ``resnet50``) trained from scratch.

The trainer takes ``TrainData`` whose ``x`` are float32 NHWC images in [0, 1], trains with the
chosen optimizer, learning rate, batch size and epochs (optionally flipping images left-right at
random), reports loss, accuracy, val_loss and val_accuracy each epoch and, with early stopping,
keeps the best epoch's weights. The predictor saves its weights as a NumPy ``.npz`` and its shape
as JSON (no pickle), which ``load_resnet`` reads back.
"""

from __future__ import annotations

import copy
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from numpy.typing import NDArray
from torch import Tensor, nn

from pipelines.atomic import atomic_target
from pipelines.errors import InvalidRequestError
from pipelines.learning.base import EarlyStopping, EpochCallback, FieldError, Fitted, TrainData
from pipelines.learning.resnet import ResNet, ResNetConfig, count_parameters

__all__ = [
    "IMAGE_HYPERPARAMETERS",
    "IMAGE_MODEL_TYPES",
    "ImageModelType",
    "ResNetPredictor",
    "load_resnet",
    "resnet_trainer",
    "validate_image_hyperparameters",
]

_WEIGHTS, _CONFIG = "weights.npz", "model.json"
_EVAL_BATCH = 256
OPTIMIZERS = ("adam", "adamw", "sgd")

# name -> (default, kind, low, high): numbers within [low, high]; choices in ``OPTIMIZERS``
IMAGE_HYPERPARAMETERS: dict[str, tuple[Any, str, float, float]] = {
    "epochs": (10, "int", 1, 1000),
    "batch_size": (32, "int", 2, 4096),
    "learning_rate": (0.001, "float", 1e-7, 10.0),
    "weight_decay": (0.0, "float", 0.0, 1.0),
    "base_width": (64, "int", 4, 128),
    "augment": (False, "bool", 0, 1),
    "optimizer": ("adam", "choice", 0, 0),
    "seed": (0, "int", 0, 2**31 - 1),
}


def validate_image_hyperparameters(params: Mapping[str, Any]) -> tuple[dict[str, Any], list[FieldError]]:
    """The hyperparameters with defaults filled in, and one error per bad or unknown field."""
    errors = [
        FieldError(
            f"hyperparameters.{k}", f"unknown hyperparameter; expected: {', '.join(IMAGE_HYPERPARAMETERS)}"
        )
        for k in params
        if k not in IMAGE_HYPERPARAMETERS
    ]
    clean: dict[str, Any] = {}
    for name, (default, kind, low, high) in IMAGE_HYPERPARAMETERS.items():
        value = params.get(name, default)
        problem = _check(value, kind, low, high)
        if problem:
            errors.append(FieldError(f"hyperparameters.{name}", problem))
        else:
            clean[name] = float(value) if kind == "float" else value
    return clean, errors


def _check(value: Any, kind: str, low: float, high: float) -> str | None:
    if kind == "bool":
        return None if isinstance(value, bool) else "must be true or false"
    if kind == "choice":
        return None if value in OPTIMIZERS else f"must be one of: {', '.join(OPTIMIZERS)}"
    numeric = (int,) if kind == "int" else (int, float)
    if isinstance(value, bool) or not isinstance(value, numeric) or not math.isfinite(value):
        return f"must be {'an integer' if kind == 'int' else 'a number'}"
    if not low <= value <= high:
        return f"must be between {low:g} and {high:g}"
    return None


@dataclass(frozen=True, slots=True)
class ImageModelType:
    """A model type of images: its trainer and loader, its hyperparameter rules."""

    name: str
    depth: int
    description: str
    data: str = "image"
    task: str = "classification"

    def train(
        self,
        data: TrainData,
        hyperparameters: Mapping[str, Any],
        early_stopping: EarlyStopping,
        on_epoch: EpochCallback,
        *,
        device: str = "cpu",
    ) -> Fitted:
        return resnet_trainer(self.depth, data, hyperparameters, early_stopping, on_epoch, device=device)

    def load(self, folder: Path) -> ResNetPredictor:
        return load_resnet(folder)

    def validate(self, params: Mapping[str, Any]) -> tuple[dict[str, Any], list[FieldError]]:
        return validate_image_hyperparameters(params)


IMAGE_MODEL_TYPES = {
    f"resnet{d}": ImageModelType(f"resnet{d}", d, f"ResNet-{d} ({kind} blocks), trained from scratch")
    for d, kind in ((18, "basic"), (34, "basic"), (50, "bottleneck"))
}


class ResNetPredictor:
    """A trained ResNet on float32 NHWC images in [0, 1] of the shape it was trained on."""

    def __init__(self, model: ResNet, config: ResNetConfig, image_shape: tuple[int, int, int]) -> None:
        self.model = model.eval()
        self.config = config
        self.image_shape = image_shape

    def predict_proba(self, x: NDArray[np.float32]) -> NDArray[np.float64]:
        if tuple(x.shape[1:]) != self.image_shape:
            raise InvalidRequestError(
                f"images of shape {list(x.shape[1:])} given; this model takes {list(self.image_shape)}"
            )
        device = next(self.model.parameters()).device
        return _probabilities(self.model, x, device)

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        state = {k: v.detach().cpu().numpy() for k, v in self.model.state_dict().items()}
        with atomic_target(folder / _WEIGHTS) as tmp, tmp.open("xb") as handle:
            np.savez(handle, **state)
        config = {**self.config.as_dict(), "image_shape": list(self.image_shape)}
        with atomic_target(folder / _CONFIG) as tmp:
            tmp.write_text(json.dumps(config, indent=2), encoding="utf-8")


def load_resnet(folder: Path, *, device: str = "cpu") -> ResNetPredictor:
    """The predictor ``ResNetPredictor.save`` wrote into ``folder``."""
    raw = json.loads((folder / _CONFIG).read_text(encoding="utf-8"))
    shape = tuple(int(n) for n in raw.pop("image_shape"))
    config = ResNetConfig(**{k: int(v) for k, v in raw.items()})
    model = ResNet(config)
    with np.load(folder / _WEIGHTS, allow_pickle=False) as arrays:
        state = {k: torch.from_numpy(arrays[k]) for k in arrays.files}
    model.load_state_dict(state, strict=True)
    return ResNetPredictor(model.to(_device(device)), config, (shape[0], shape[1], shape[2]))


def _device(name: str) -> torch.device:
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise InvalidRequestError(f"device {name!r} was asked for, but no CUDA device is available here")
    return torch.device(name)


def _nchw(x: NDArray[np.float32]) -> Tensor:
    return torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)).permute(0, 3, 1, 2)


@torch.no_grad()
def _probabilities(model: nn.Module, x: NDArray[np.float32], device: torch.device) -> NDArray[np.float64]:
    model.eval()
    parts = [
        torch.softmax(model(_nchw(x[i : i + _EVAL_BATCH]).to(device)), dim=1).double().cpu()
        for i in range(0, len(x), _EVAL_BATCH)
    ]
    return torch.cat(parts).numpy() if parts else np.zeros((0, model_classes(model)))


def model_classes(model: nn.Module) -> int:
    fc = getattr(model, "fc", None)
    return int(fc.out_features) if isinstance(fc, nn.Linear) else 0


@torch.no_grad()
def _evaluate(model: nn.Module, x: Tensor, y: Tensor, device: torch.device) -> tuple[float, float]:
    """Mean cross-entropy and accuracy on (x, y), in eval mode (batch norm's running statistics)."""
    model.eval()
    loss, correct = 0.0, 0
    for i in range(0, len(x), _EVAL_BATCH):
        logits = model(x[i : i + _EVAL_BATCH].to(device))
        target = y[i : i + _EVAL_BATCH].to(device)
        loss += float(nn.functional.cross_entropy(logits, target, reduction="sum"))
        correct += int((logits.argmax(1) == target).sum())
    return loss / max(len(x), 1), correct / max(len(x), 1)


def _optimizer(model: nn.Module, hp: Mapping[str, Any]) -> torch.optim.Optimizer:
    lr, decay = float(hp["learning_rate"]), float(hp["weight_decay"])
    if hp["optimizer"] == "sgd":
        return torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9, weight_decay=decay)
    if hp["optimizer"] == "adamw":
        return torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=decay)
    return torch.optim.Adam(model.parameters(), lr=lr, weight_decay=decay)


def _train_epoch(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    x: Tensor,
    y: Tensor,
    hp: Mapping[str, Any],
    generator: torch.Generator,
    device: torch.device,
) -> tuple[float, float]:
    """One pass over the shuffled training images; the running mean loss and accuracy."""
    model.train()
    order = torch.randperm(len(x), generator=generator)
    size = int(hp["batch_size"])
    loss_sum, correct, seen = 0.0, 0, 0
    for start in range(0, len(x), size):
        index = order[start : start + size]
        if len(index) < 2 < len(x):  # batch norm needs two images; a last lone one waits for the next epoch
            continue
        xb, yb = x[index].to(device, non_blocking=True), y[index].to(device, non_blocking=True)
        if hp["augment"]:
            flip = torch.rand(len(index), generator=generator) < 0.5
            xb[flip.to(device)] = xb[flip.to(device)].flip(3)
        logits = model(xb)
        loss = nn.functional.cross_entropy(logits, yb)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()  # type: ignore[no-untyped-call]
        optimizer.step()
        loss_sum += float(loss.detach()) * len(index)
        correct += int((logits.detach().argmax(1) == yb).sum())
        seen += len(index)
    return loss_sum / max(seen, 1), correct / max(seen, 1)


def resnet_trainer(
    depth: int,
    data: TrainData,
    hyperparameters: Mapping[str, Any],
    early_stopping: EarlyStopping,
    on_epoch: EpochCallback,
    *,
    device: str = "cpu",
) -> Fitted:
    """Long because it is the training loop: epochs, metrics, early stopping and the best weights."""
    hp, errors = validate_image_hyperparameters(hyperparameters)
    if errors:
        raise InvalidRequestError("; ".join(f"{e.field}: {e.message}" for e in errors))
    if data.task != "classification" or data.x_train.ndim != 4:
        raise InvalidRequestError("a ResNet classifies images: x must be (n, height, width, channels)")
    if early_stopping.enabled and early_stopping.monitor not in (
        "loss",
        "accuracy",
        "val_loss",
        "val_accuracy",
    ):
        raise InvalidRequestError(f"early stopping cannot monitor {early_stopping.monitor!r} for images")
    torch.manual_seed(int(hp["seed"]))
    generator = torch.Generator().manual_seed(int(hp["seed"]))
    target = _device(device)
    config = ResNetConfig(depth, len(data.classes), int(hp["base_width"]), int(data.x_train.shape[3]))
    model = ResNet(config).to(target)
    optimizer = _optimizer(model, hp)
    x_train, y_train = _nchw(data.x_train), torch.from_numpy(np.asarray(data.y_train, dtype=np.int64))
    x_val, y_val = _nchw(data.x_val), torch.from_numpy(np.asarray(data.y_val, dtype=np.int64))
    if target.type == "cuda":  # the images go over once, not every epoch
        x_train, y_train, x_val, y_val = (t.to(target) for t in (x_train, y_train, x_val, y_val))
    epochs, has_val = int(hp["epochs"]), len(x_val) > 0
    history: dict[str, list[float]] = {}
    lower_is_better = early_stopping.monitor.endswith("loss")
    best_value, best_epoch, best_state, waited, stopped = math.inf, epochs, None, 0, None
    for epoch in range(1, epochs + 1):
        loss, accuracy = _train_epoch(model, optimizer, x_train, y_train, hp, generator, target)
        metrics = {"loss": loss, "accuracy": accuracy}
        if has_val:
            metrics["val_loss"], metrics["val_accuracy"] = _evaluate(model, x_val, y_val, target)
        for name, value in metrics.items():
            history.setdefault(name, []).append(value)
        on_epoch(epoch, epochs, metrics)
        if not early_stopping.enabled:
            continue
        monitored = metrics.get(early_stopping.monitor, metrics["loss"])
        score = monitored if lower_is_better else -monitored
        if score < best_value:
            best_value, best_epoch, waited = score, epoch, 0
            best_state = copy.deepcopy(model.state_dict())
        else:
            waited += 1
            if waited >= early_stopping.patience:
                stopped = epoch
                break
    if best_state is not None:
        model.load_state_dict(best_state)
    shape = data.x_train.shape
    return Fitted(
        predictor=ResNetPredictor(model, config, (int(shape[1]), int(shape[2]), int(shape[3]))),
        history=history,
        best_epoch=best_epoch if early_stopping.enabled else len(history["loss"]),
        stopped_epoch=stopped,
        parameters=count_parameters(model),
        architecture={**config.as_dict(), "family": "resnet", "image_shape": [int(n) for n in shape[1:]]},
    )
