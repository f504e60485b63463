"""PyTorch networks of the training platform: feed-forward (``logistic``, ``linear``, ``mlp``),
recurrent (``lstm``, ``gru``), the residual MLP that ``resnet18/34/50`` train on tables, and their
predictor.

The residual MLP follows the tabular ResNet of Gorishniy et al. (2021), "Revisiting Deep Learning
Models for Tabular Data": a linear layer to ``width`` units, ``blocks`` pre-activation residual blocks
(BatchNorm, Linear to 2 x width, ReLU, Dropout, Linear back to width, Dropout, added to the block's
input), then BatchNorm, ReLU and the linear head.

Inputs are standardized with the training rows' mean and standard deviation per feature; regression
targets too (predictions are scaled back). Both are stored with the model: ``config.json`` (the
architecture and the scalers) and ``weights.npz`` (the ``state_dict`` as arrays, read back without
pickle).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
from numpy.typing import NDArray
from torch import nn

from pipelines.learning.base import Task

__all__ = ["NetConfig", "TorchPredictor", "build_module", "load_torch", "outputs", "scaled"]

CONFIG_FILE = "config.json"
WEIGHTS_FILE = "weights.npz"
_BATCH = 4096  # rows per forward pass when predicting

Kind = Literal["feedforward", "lstm", "gru", "resmlp"]


@dataclass(frozen=True, slots=True)
class NetConfig:
    """A network's architecture and its input / target scaling (JSON-ready)."""

    kind: Kind
    task: Task
    n_features: int
    n_outputs: int  # classes, or 1 for regression
    hidden_layers: list[int] = field(default_factory=list)  # feedforward
    dropout: float = 0.0
    hidden_size: int = 0  # recurrent; resmlp: the blocks' width
    num_layers: int = 0
    sequence_length: int = 0
    mean: list[float] = field(default_factory=list)
    std: list[float] = field(default_factory=list)
    target_mean: float = 0.0
    target_std: float = 1.0
    blocks: int = 0  # resmlp: residual blocks

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> NetConfig:
        return cls(**raw)


class _Recurrent(nn.Module):
    """An LSTM or GRU over the window, and a linear head on its last step."""

    def __init__(self, config: NetConfig) -> None:
        super().__init__()
        layer = nn.LSTM if config.kind == "lstm" else nn.GRU
        self.rnn = layer(
            config.n_features,
            config.hidden_size,
            num_layers=config.num_layers,
            batch_first=True,
            dropout=config.dropout if config.num_layers > 1 else 0.0,
        )
        self.head = nn.Linear(config.hidden_size, config.n_outputs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out, _ = self.rnn(x)
        result: torch.Tensor = self.head(out[:, -1, :])
        return result


class _ResidualBlock(nn.Module):
    def __init__(self, width: int, dropout: float) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.BatchNorm1d(width),
            nn.Linear(width, 2 * width),
            nn.ReLU(),
            nn.Dropout(dropout),
            nn.Linear(2 * width, width),
            nn.Dropout(dropout),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        result: torch.Tensor = x + self.body(x)
        return result


def _residual_mlp(config: NetConfig) -> nn.Module:
    width = config.hidden_size
    return nn.Sequential(
        nn.Linear(config.n_features, width),
        *[_ResidualBlock(width, config.dropout) for _ in range(config.blocks)],
        nn.BatchNorm1d(width),
        nn.ReLU(),
        nn.Linear(width, config.n_outputs),
    )


def build_module(config: NetConfig) -> nn.Module:
    """The untrained network (``logistic``/``linear``: no hidden layer)."""
    if config.kind == "resmlp":
        return _residual_mlp(config)
    if config.kind != "feedforward":
        return _Recurrent(config)
    layers: list[nn.Module] = []
    width = config.n_features
    for units in config.hidden_layers:
        layers += [nn.Linear(width, units), nn.ReLU()]
        if config.dropout > 0:
            layers.append(nn.Dropout(config.dropout))
        width = units
    layers.append(nn.Linear(width, config.n_outputs))
    return nn.Sequential(*layers)


def scaled(config: NetConfig, x: NDArray[np.float32]) -> NDArray[np.float32]:
    """``x`` standardized per feature (the last axis) as in training."""
    mean = np.asarray(config.mean, dtype=np.float32)
    std = np.asarray(config.std, dtype=np.float32)
    out: NDArray[np.float32] = ((np.asarray(x, dtype=np.float32) - mean) / std).astype(np.float32)
    return out


def outputs(
    config: NetConfig, module: nn.Module, x: NDArray[np.float32], device: torch.device
) -> NDArray[np.float64]:
    """Class probabilities (or values, scaled back) of ``module`` on its ``device`` for scaled ``x``."""
    module.eval()
    parts = []
    with torch.no_grad():
        for start in range(0, len(x), _BATCH):
            batch = torch.from_numpy(np.ascontiguousarray(x[start : start + _BATCH])).to(device)
            logits = module(batch)
            if config.task == "classification":
                parts.append(torch.softmax(logits, dim=1).double().cpu().numpy())
            else:
                values = logits[:, 0].double().cpu().numpy()
                parts.append(values * config.target_std + config.target_mean)
    if not parts:
        shape = (0, config.n_outputs) if config.task == "classification" else (0,)
        return np.zeros(shape, dtype=np.float64)
    return np.concatenate(parts)


class TorchPredictor:
    """Predicts on (rows, features), or (rows, sequence_length, features) for recurrent networks."""

    def __init__(self, config: NetConfig, module: nn.Module) -> None:
        self.config = config
        self.module = module.cpu().eval()

    def predict_proba(self, x: NDArray[np.float32]) -> NDArray[np.float64]:
        return outputs(self.config, self.module, scaled(self.config, x), torch.device("cpu"))

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        (folder / CONFIG_FILE).write_text(json.dumps(asdict(self.config)), encoding="utf-8")
        weights = {k: v.detach().cpu().numpy() for k, v in self.module.state_dict().items()}
        with (folder / WEIGHTS_FILE).open("wb") as out:
            np.savez(out, **weights)


def load_torch(folder: Path) -> TorchPredictor:
    config = NetConfig.from_dict(json.loads((folder / CONFIG_FILE).read_text(encoding="utf-8")))
    module = build_module(config)
    with np.load(folder / WEIGHTS_FILE, allow_pickle=False) as stored:
        state = {k: torch.from_numpy(stored[k].copy()) for k in stored.files}
    module.load_state_dict(state)
    return TorchPredictor(config, module)
