"""``lstm``: a PyTorch LSTM over windows of ``seq_len`` consecutive feature rows -> the row's target.

Rows must be consecutive bars in time order: the prediction for row t reads rows t-seq_len+1..t,
so the first ``seq_len - 1`` rows of any input get NaN (``context_rows = seq_len``). Features are
imputed with the training medians and standardized with the training mean/std; the target is
standardized too (stable optimisation whatever the horizon's scale). Training: Adam on MSE,
shuffled mini-batches, early stopping on the validation loss with ``patience``, best weights kept.
Everything random runs under ``torch.random.fork_rng`` seeded with ``random_state``: runs repeat
exactly on the CPU and the caller's global RNG state is left untouched. Training uses CUDA when the
device is cuda; prediction always runs on the CPU, where serving inputs live.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from pipelines.models.base import FloatMatrix, ModelKind
from pipelines.models.kinds._common import BaseRegressor, MedianImputer, as_matrix

__all__ = ["LSTMNet", "LSTMRegressor"]

_FILE = "lstm.pt"
_PREDICT_CHUNK = 4096  # windows per forward pass at prediction time


class LSTMNet(nn.Module):
    def __init__(self, n_features: int, hidden_size: int, num_layers: int, dropout: float) -> None:
        super().__init__()
        self.lstm = nn.LSTM(
            n_features, hidden_size, num_layers, batch_first=True, dropout=dropout if num_layers > 1 else 0.0
        )
        self.head = nn.Linear(hidden_size, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out, _ = self.lstm(x)
        y: torch.Tensor = self.head(out[:, -1, :]).squeeze(-1)
        return y


def _windows(xs: torch.Tensor, ends: torch.Tensor, seq_len: int) -> torch.Tensor:
    """(len(ends), seq_len, n_features): the rows ending at each index of ``ends``."""
    offsets = torch.arange(1 - seq_len, 1, device=xs.device)
    return xs[ends[:, None] + offsets]


class LSTMRegressor(BaseRegressor):
    kind = ModelKind.LSTM
    libraries = ("torch",)

    def __init__(self, params: dict[str, Any], feature_names: list[str], device: str) -> None:
        super().__init__(params, feature_names, device)
        self.context_rows = int(params["seq_len"])
        n = len(self.feature_names)
        self.imputer = MedianImputer(np.zeros(n))
        self.mean = np.zeros(n)
        self.std = np.ones(n)
        self.y_mean = 0.0
        self.y_std = 1.0
        self.net = self._new_net()

    def _new_net(self) -> LSTMNet:
        """A freshly initialised net; its random init never touches the caller's global RNG."""
        p = self.params
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(p["random_state"])
            return LSTMNet(len(self.feature_names), p["hidden_size"], p["num_layers"], p["dropout"])

    def _standardize(self, x: FloatMatrix) -> FloatMatrix:
        out: FloatMatrix = (self.imputer(x) - self.mean) / self.std
        return out

    def _fit(
        self, x: FloatMatrix, y: FloatMatrix, x_val: FloatMatrix | None, y_val: FloatMatrix | None
    ) -> None:
        self.imputer = MedianImputer.fit(x)
        clean = self.imputer(x)
        self.mean = clean.mean(axis=0)
        std = clean.std(axis=0)
        self.std = np.where(std > 1e-12, std, 1.0)
        self.y_mean = float(y.mean())
        self.y_std = float(y.std()) or 1.0
        note = None
        if self.device == "cuda" and not torch.cuda.is_available():
            self.device, note = "cpu", "CUDA was requested but is not available; trained on the CPU"
        dev = torch.device(self.device)
        devices = [torch.cuda.current_device()] if dev.type == "cuda" else []
        with torch.random.fork_rng(devices=devices):
            torch.manual_seed(self.params["random_state"])
            self.net = self._new_net()
            self._train(dev, x, y, x_val, y_val)
        self.net = self.net.to("cpu").eval()
        if note:
            self.fit_info["device_note"] = note

    def _tensors(
        self, dev: torch.device, x: FloatMatrix, y: FloatMatrix
    ) -> tuple[torch.Tensor, torch.Tensor]:
        xs = torch.as_tensor(self._standardize(x), dtype=torch.float32, device=dev)
        ys = torch.as_tensor((y - self.y_mean) / self.y_std, dtype=torch.float32, device=dev)
        return xs, ys

    def _train(
        self,
        dev: torch.device,
        x: FloatMatrix,
        y: FloatMatrix,
        x_val: FloatMatrix | None,
        y_val: FloatMatrix | None,
    ) -> None:
        p = self.params
        seq_len, batch = int(p["seq_len"]), int(p["batch_size"])
        net = self.net.to(dev)
        opt = torch.optim.Adam(net.parameters(), lr=p["learning_rate"], weight_decay=p["weight_decay"])
        loss_fn = nn.MSELoss()
        xs, ys = self._tensors(dev, x, y)
        ends = torch.arange(seq_len - 1, len(xs), device=dev)
        val = None
        if x_val is not None and y_val is not None and len(x_val) >= seq_len:
            xv, yv = self._tensors(dev, x_val, y_val)
            val = (xv, yv, torch.arange(seq_len - 1, len(xv), device=dev))
        best_loss, best_state, best_epoch, stale, epoch = float("inf"), None, 0, 0, 0
        train_loss = float("nan")
        for epoch in range(1, int(p["epochs"]) + 1):
            net.train()
            total = 0.0
            for idx in torch.split(ends[torch.randperm(len(ends), device=dev)], batch):
                opt.zero_grad(set_to_none=True)
                loss = loss_fn(net(_windows(xs, idx, seq_len)), ys[idx])
                loss.backward()
                opt.step()
                total += float(loss.detach()) * len(idx)
            train_loss = total / len(ends)
            if val is None:
                continue
            val_loss = self._eval_loss(net, *val, seq_len)
            if val_loss < best_loss:
                best_loss, best_epoch, stale = val_loss, epoch, 0
                best_state = copy.deepcopy(net.state_dict())
            else:
                stale += 1
                if stale >= p["patience"]:
                    break
        if best_state is not None:
            net.load_state_dict(best_state)
        self.net = net
        self.fit_info = {"epochs_run": epoch, "train_loss": train_loss}
        if val is not None:
            self.fit_info.update(best_epoch=best_epoch, best_val_loss=best_loss)

    @staticmethod
    def _eval_loss(
        net: nn.Module, xv: torch.Tensor, yv: torch.Tensor, ends: torch.Tensor, seq_len: int
    ) -> float:
        net.eval()
        total = 0.0
        with torch.inference_mode():
            for idx in torch.split(ends, _PREDICT_CHUNK):
                total += float(((net(_windows(xv, idx, seq_len)) - yv[idx]) ** 2).sum())
        return total / len(ends)

    def predict(self, x: FloatMatrix) -> FloatMatrix:
        self._require_fitted()
        x = as_matrix(x, len(self.feature_names))
        seq_len = self.context_rows
        out = np.full(x.shape[0], np.nan)
        if x.shape[0] < seq_len:
            return out
        xs = torch.from_numpy(self._standardize(x).astype(np.float32))
        ends = torch.arange(seq_len - 1, len(xs))
        with torch.inference_mode():
            preds = [self.net(_windows(xs, idx, seq_len)) for idx in torch.split(ends, _PREDICT_CHUNK)]
        out[seq_len - 1 :] = torch.cat(preds).numpy().astype(np.float64) * self.y_std + self.y_mean
        return out

    def _save_files(self, path: Path) -> dict[str, Any]:
        torch.save(self.net.state_dict(), path / _FILE)
        return {
            "file": _FILE,
            "medians": self.imputer.to_list(),
            "mean": self.mean.tolist(),
            "std": self.std.tolist(),
            "y_mean": self.y_mean,
            "y_std": self.y_std,
        }

    @classmethod
    def _from_saved(cls, path: Path, meta: dict[str, Any], **kwargs: Any) -> LSTMRegressor:
        state = meta["state"]
        model = cls(meta["params"], meta["feature_names"], meta["device"])
        model.imputer = MedianImputer(state["medians"])
        model.mean = np.asarray(state["mean"], dtype=np.float64)
        model.std = np.asarray(state["std"], dtype=np.float64)
        model.y_mean, model.y_std = float(state["y_mean"]), float(state["y_std"])
        model.net.load_state_dict(torch.load(path / state["file"], map_location="cpu", weights_only=True))
        model.net.eval()
        return model
