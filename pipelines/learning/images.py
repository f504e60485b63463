"""Image classifiers: the ResNet family (``resnet18``, ``resnet34``, ``resnet50``) trained from scratch.
On a table the same model types train a residual MLP instead (``torch_fit.train_table_resnet``).

The trainer takes ``TrainData`` whose ``x`` are float32 NHWC images in [0, 1], trains with the
chosen optimizer, learning rate, batch size and epochs (optionally flipping images left-right at
random), reports loss, accuracy, val_loss and val_accuracy each epoch (``pipelines.learning.metrics``:
the model's as the epoch ends, the training ones on at most ``TRAIN_SAMPLE`` images) and, with
early stopping, keeps the best epoch's weights. The predictor saves its weights as a NumPy ``.npz``
and its shape as JSON (no pickle), which ``load_resnet`` reads back.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch
from numpy.typing import NDArray
from torch import Tensor, nn

from pipelines.atomic import atomic_target
from pipelines.errors import InvalidRequestError
from pipelines.learning.base import EarlyStopping, EpochCallback, Fitted, TrainData
from pipelines.learning.metrics import Monitor, epoch_metrics, train_sample
from pipelines.learning.nets import CONFIG_FILE, TorchPredictor, load_torch
from pipelines.learning.params import normalized
from pipelines.learning.resnet import ResNet, ResNetConfig, count_parameters
from pipelines.learning.torch_fit import train_table_resnet

__all__ = ["ResNetPredictor", "ResNetTrainer", "load_resnet"]

_WEIGHTS, _CONFIG = "weights.npz", "model.json"
_EVAL_BATCH = 256
TRAIN_SAMPLE = 2_000  # training images the per-epoch loss and accuracy are measured on


class ResNetTrainer:
    """The ``Trainer`` of ``resnet{depth}`` (hyperparameter rules: ``params.PARAMS``)."""

    def __init__(self, depth: int) -> None:
        self.depth = depth

    def __call__(
        self,
        data: TrainData,
        hyperparameters: Mapping[str, Any],
        early_stopping: EarlyStopping,
        on_epoch: EpochCallback,
        *,
        device: str = "cpu",
    ) -> Fitted:
        if data.x_train.ndim == 2:
            return train_table_resnet(
                self.depth, data, hyperparameters, early_stopping, on_epoch, device=device
            )
        return _train(self.depth, data, hyperparameters, early_stopping, on_epoch, device)


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


def load_resnet(folder: Path, *, device: str = "cpu") -> ResNetPredictor | TorchPredictor:
    """The predictor ``ResNetPredictor.save`` (or, for a table's residual MLP, ``TorchPredictor.save``)
    wrote into ``folder``."""
    if (folder / CONFIG_FILE).is_file():
        return load_torch(folder)
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
    """Softmax of the model in eval mode (batch norm's running statistics), a batch at a time."""
    model.eval()
    classes = model.fc.out_features if isinstance(model.fc, nn.Linear) else 0
    out = np.empty((len(x), classes), dtype=np.float64)
    for i in range(0, len(x), _EVAL_BATCH):
        logits = model(_nchw(x[i : i + _EVAL_BATCH]).to(device))
        out[i : i + _EVAL_BATCH] = torch.softmax(logits.float(), dim=1).double().cpu().numpy()
    return out


def _optimizer(model: nn.Module, hp: Mapping[str, Any]) -> torch.optim.Optimizer:
    lr, decay = float(hp["learning_rate"]), float(hp["l2"])
    if hp["optimizer"] == "sgd":
        return torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9, weight_decay=decay)
    if hp["optimizer"] == "rmsprop":
        return torch.optim.RMSprop(model.parameters(), lr=lr, weight_decay=decay)
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
) -> None:
    """One pass over the shuffled training images (``x`` NCHW, already on the model's device)."""
    model.train()
    order = torch.randperm(len(x), generator=generator).to(x.device)
    size = int(hp["batch_size"])
    for start in range(0, len(x), size):
        index = order[start : start + size]
        if len(index) < 2 < len(x):  # batch norm needs two images; a lone last one waits an epoch
            continue
        xb, yb = x[index], y[index]
        if hp["augment"] == "flip":
            flip = (torch.rand(len(index), generator=generator) < 0.5).to(x.device)
            xb = torch.where(flip[:, None, None, None], xb.flip(3), xb)
        loss = nn.functional.cross_entropy(model(xb), yb)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()  # type: ignore[no-untyped-call]
        optimizer.step()


def _train(
    depth: int,
    data: TrainData,
    hyperparameters: Mapping[str, Any],
    early_stopping: EarlyStopping,
    on_epoch: EpochCallback,
    device: str,
) -> Fitted:
    """Long because it is the training loop: epochs, metrics, early stopping and the best weights."""
    hp = normalized(f"resnet{depth}", hyperparameters)
    if data.task != "classification" or data.x_train.ndim != 4 or len(data.classes) < 2:
        raise InvalidRequestError("a ResNet classifies images: x must be (n, height, width, channels)")
    torch.manual_seed(int(hp["seed"]))
    generator = torch.Generator().manual_seed(int(hp["seed"]))
    target = _device(device)
    config = ResNetConfig(depth, len(data.classes), int(hp["base_width"]), int(data.x_train.shape[3]))
    model = ResNet(config).to(target)
    optimizer = _optimizer(model, hp)
    # The images go to the device once (NCHW float32), not every epoch.
    x_train = _nchw(data.x_train).to(target)
    y_train = torch.from_numpy(np.asarray(data.y_train, dtype=np.int64)).to(target)
    sample = train_sample(data, TRAIN_SAMPLE)
    monitor = Monitor(early_stopping, {})
    best_state: dict[str, Tensor] | None = None
    epochs = int(hp["epochs"])
    for epoch in range(1, epochs + 1):
        _train_epoch(model, optimizer, x_train, y_train, hp, generator)
        metrics = epoch_metrics(
            "classification",
            (sample[1], _probabilities(model, sample[0], target)),
            (data.y_val, _probabilities(model, data.x_val, target)),
        )
        best, stop = monitor.update(epoch, metrics)
        if best and early_stopping.enabled:
            best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        on_epoch(epoch, epochs, metrics)
        if stop:
            break
    if best_state is not None:
        model.load_state_dict(best_state)
    shape = tuple(int(n) for n in data.x_train.shape[1:])
    return Fitted(
        predictor=ResNetPredictor(model, config, (shape[0], shape[1], shape[2])),
        history=monitor.history,
        best_epoch=monitor.best_epoch,
        stopped_epoch=monitor.stopped_epoch,
        parameters=count_parameters(model),
        architecture={**config.as_dict(), "family": "resnet", "image_shape": list(shape)},
    )
