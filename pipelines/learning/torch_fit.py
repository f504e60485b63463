"""The PyTorch trainers: ``logistic`` (classification) and ``linear`` (regression), networks without
a hidden layer; ``mlp``; and the sequence models ``lstm`` and ``gru`` on time series.

Training minimizes cross-entropy (classifiers) or the mean squared error of the standardized target
(regressors) with mini-batches in a seeded random order (the same seed gives the same model on the
CPU). ``sgd`` uses momentum 0.9; ``l2`` is the optimizer's weight decay. Early stopping restores the
best epoch's weights. ``device`` "cuda" trains on the GPU; the saved model predicts on the CPU.

Sequence models see windows of ``sequence_length`` consecutive rows and predict the last row's
label; the validation windows reach back into the training rows' tail.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import replace
from functools import partial
from typing import Any

import numpy as np
import torch
from numpy.typing import NDArray
from torch import nn

from pipelines.errors import InvalidRequestError
from pipelines.learning.base import EarlyStopping, EpochCallback, Fitted, TrainData
from pipelines.learning.metrics import TRAIN_SAMPLE, Monitor, epoch_metrics
from pipelines.learning.nets import NetConfig, TorchPredictor, build_module, outputs, scaled
from pipelines.learning.params import normalized
from pipelines.learning.resnet import DEPTHS

__all__ = ["train_gru", "train_linear", "train_logistic", "train_lstm", "train_mlp", "train_table_resnet"]


SMALL_ROWS = 50_000


@contextmanager
def _cpu_threads(rows: int) -> Iterator[None]:
    """One intra-op thread for small tables: their batches are too small to share out, and on a
    busy machine the threads' contention slowed training 40-fold (process-wide, restored after)."""
    before = torch.get_num_threads()
    if rows < SMALL_ROWS:
        torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _device(name: str) -> torch.device:
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise InvalidRequestError(f"device {name!r} asked for, but this machine has no CUDA GPU")
        return torch.device(name)
    return torch.device("cpu")


def _optimizer(hp: Mapping[str, Any], module: nn.Module) -> torch.optim.Optimizer:
    lr, decay = float(hp["learning_rate"]), float(hp["l2"])
    params = module.parameters()
    if hp["optimizer"] == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=0.9, weight_decay=decay)
    if hp["optimizer"] == "adamw":
        return torch.optim.AdamW(params, lr=lr, weight_decay=decay)
    if hp["optimizer"] == "rmsprop":
        return torch.optim.RMSprop(params, lr=lr, weight_decay=decay)
    return torch.optim.Adam(params, lr=lr, weight_decay=decay)


def _scaled_config(config: NetConfig, data: TrainData) -> NetConfig:
    """``config`` with the training rows' feature (and regression target) mean and std."""
    mean = data.x_train.astype(np.float64).mean(axis=0)
    std = data.x_train.astype(np.float64).std(axis=0)
    std = np.where(std > 1e-12, std, 1.0)
    config = replace(config, mean=mean.tolist(), std=std.tolist())
    if data.task == "regression":
        y = data.y_train.astype(np.float64)
        config = replace(config, target_mean=float(y.mean()), target_std=float(y.std()) or 1.0)
    return config


class _Windows:
    """Training and validation inputs: rows, or for sequence models windows ending at each row that
    has ``length`` - 1 rows before it (gathered per batch, not copied up front)."""

    def __init__(self, data: TrainData, config: NetConfig, device: torch.device) -> None:
        length = self.length = config.sequence_length
        series = scaled(config, np.concatenate([data.x_train, data.x_val]))
        n_train = len(data.y_train)
        y = np.concatenate([data.y_train, data.y_val])
        first = length - 1 if length else 0
        if n_train - first < 1:
            raise InvalidRequestError(
                f"sequence_length {length} is longer than the {n_train} training rows; use a shorter one"
            )
        self.train_ends = np.arange(first, n_train)
        self.val_ends = np.arange(n_train, len(y))
        self.y_train, self.y_val = y[self.train_ends], y[self.val_ends]
        self.series = series
        self.series_t = torch.from_numpy(series).to(device)
        sample = self.train_ends
        if len(sample) > TRAIN_SAMPLE:
            sample = sample[np.linspace(0, len(sample) - 1, TRAIN_SAMPLE).astype(np.int64)]
        self.sample_x, self.sample_y = self.take(sample), y[sample]
        self.val_x = self.take(self.val_ends)

    def take(self, ends: NDArray[np.int64]) -> NDArray[np.float32]:
        rows: NDArray[np.float32] = (
            self.series[ends]
            if not self.length
            else self.series[ends[:, None] + np.arange(1 - self.length, 1)]
        )
        return rows

    def batch(self, ends: torch.Tensor) -> torch.Tensor:
        if not self.length:
            return self.series_t[ends]
        offsets = torch.arange(1 - self.length, 1, device=ends.device)
        return self.series_t[ends[:, None] + offsets]


def _fit(
    data: TrainData,
    hp: Mapping[str, Any],
    config: NetConfig,
    early_stopping: EarlyStopping,
    on_epoch: EpochCallback,
    device_name: str,
) -> Fitted:
    """Long because it is the training loop: batches, per-epoch metrics, early stopping and the
    best weights' snapshot in one place."""
    device = _device(device_name)
    torch.manual_seed(int(hp["seed"]))
    order = torch.Generator().manual_seed(int(hp["seed"]))
    config = _scaled_config(config, data)
    module = build_module(config).to(device)
    windows = _Windows(data, config, device)
    ends = torch.from_numpy(windows.train_ends).to(device)
    if data.task == "classification":
        targets = torch.from_numpy(windows.y_train.astype(np.int64)).to(device)
        loss_fn: nn.Module = nn.CrossEntropyLoss()
    else:
        scaled_y = (windows.y_train - config.target_mean) / config.target_std
        targets = torch.from_numpy(scaled_y.astype(np.float32)).to(device)
        loss_fn = nn.MSELoss()
    optimizer = _optimizer(hp, module)
    monitor = Monitor(early_stopping, {})
    best = {k: v.detach().clone() for k, v in module.state_dict().items()}
    epochs, batch_size = int(hp["epochs"]), int(hp["batch_size"])
    for epoch in range(1, epochs + 1):
        module.train()
        for index in torch.split(torch.randperm(len(ends), generator=order), batch_size):
            if config.kind == "resmlp" and len(index) < 2 <= len(ends):
                continue  # batch norm needs two rows; a lone last one waits for the next epoch
            index = index.to(device)
            optimizer.zero_grad()
            out = module(windows.batch(ends[index]))
            loss = loss_fn(out if data.task == "classification" else out[:, 0], targets[index])
            loss.backward()
            optimizer.step()
        metrics = epoch_metrics(
            data.task,
            (windows.sample_y, outputs(config, module, windows.sample_x, device)),
            (windows.y_val, outputs(config, module, windows.val_x, device)),
        )
        on_epoch(epoch, epochs, metrics)
        improved, stop = monitor.update(epoch, metrics)
        if improved:
            best = {k: v.detach().clone() for k, v in module.state_dict().items()}
        if stop:
            break
    module.load_state_dict(best)
    parameters = sum(p.numel() for p in module.parameters() if p.requires_grad)
    shape = [config.sequence_length, config.n_features] if config.sequence_length else [config.n_features]
    return Fitted(
        predictor=TorchPredictor(config, module),
        history=monitor.history,
        best_epoch=max(monitor.best_epoch, 1),
        stopped_epoch=monitor.stopped_epoch,
        parameters=int(parameters),
        architecture={
            "library": "torch",
            "network": config.kind,
            "input_shape": shape,
            "hidden_layers": config.hidden_layers,
            "hidden_size": config.hidden_size,
            "num_layers": config.num_layers,
            "dropout": config.dropout,
            "output_classes": len(data.classes),
            "parameters": int(parameters),
            **_resmlp_architecture(config),
        },
    )


def _resmlp_architecture(config: NetConfig) -> dict[str, Any]:
    if config.kind != "resmlp":
        return {}
    return {
        "family": "residual_mlp",
        "blocks": config.blocks,
        "width": config.hidden_size,
        "block": "pre-activation: BatchNorm, Linear(width, 2 x width), ReLU, Dropout, "
        "Linear(2 x width, width), Dropout, plus the block's input",
        "reference": "Gorishniy et al. 2021, Revisiting Deep Learning Models for Tabular Data",
    }


def _outputs(data: TrainData) -> int:
    return len(data.classes) if data.task == "classification" else 1


def _feedforward(
    model_type: str,
    data: TrainData,
    hyperparameters: Mapping[str, Any],
    early_stopping: EarlyStopping,
    on_epoch: EpochCallback,
    device: str = "cpu",
) -> Fitted:
    hp = normalized(model_type, hyperparameters)
    config = NetConfig(
        kind="feedforward",
        task=data.task,
        n_features=len(data.feature_names),
        n_outputs=_outputs(data),
        hidden_layers=list(hp.get("hidden_layers", [])),
        dropout=float(hp.get("dropout", 0.0)),
    )
    with _cpu_threads(len(data.y_train)):
        return _fit(data, hp, config, early_stopping, on_epoch, device)


def _recurrent(
    model_type: str,
    data: TrainData,
    hyperparameters: Mapping[str, Any],
    early_stopping: EarlyStopping,
    on_epoch: EpochCallback,
    device: str = "cpu",
) -> Fitted:
    hp = normalized(model_type, hyperparameters)
    if not data.time_series:
        raise InvalidRequestError(
            f"{model_type} trains on time series; this dataset's rows are not in time order"
        )
    config = NetConfig(
        kind="lstm" if model_type == "lstm" else "gru",
        task=data.task,
        n_features=len(data.feature_names),
        n_outputs=_outputs(data),
        dropout=float(hp["dropout"]),
        hidden_size=int(hp["hidden_size"]),
        num_layers=int(hp["num_layers"]),
        sequence_length=int(hp["sequence_length"]),
    )
    with _cpu_threads(len(data.y_train)):
        return _fit(data, hp, config, early_stopping, on_epoch, device)


# The trainers of the plain torch model types (``Trainer``s): ``logistic`` is multinomial logistic
# regression (softmax over a linear layer), ``linear`` linear regression by gradient descent, ``mlp``
# ``hidden_layers`` of ReLU units with ``dropout`` after each; ``lstm`` / ``gru`` read windows of
# ``sequence_length`` rows of a time series.
train_logistic = partial(_feedforward, "logistic")
train_linear = partial(_feedforward, "linear")
train_mlp = partial(_feedforward, "mlp")
train_lstm = partial(_recurrent, "lstm")
train_gru = partial(_recurrent, "gru")


def train_table_resnet(
    depth: int,
    data: TrainData,
    hyperparameters: Mapping[str, Any],
    early_stopping: EarlyStopping,
    on_epoch: EpochCallback,
    *,
    device: str = "cpu",
) -> Fitted:
    """``resnet{depth}`` on a table: a residual MLP of as many blocks as the ResNet has (8 for
    resnet18, 16 for resnet34 and resnet50), ``base_width`` units wide."""
    hp = normalized(f"resnet{depth}", hyperparameters)
    config = NetConfig(
        kind="resmlp",
        task=data.task,
        n_features=len(data.feature_names),
        n_outputs=_outputs(data),
        dropout=float(hp["dropout"]),
        hidden_size=int(hp["base_width"]),
        blocks=sum(DEPTHS[depth][1]),
    )
    with _cpu_threads(len(data.y_train)):
        return _fit(data, hp, config, early_stopping, on_epoch, device)
