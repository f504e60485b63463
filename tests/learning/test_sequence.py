"""The sequence models (lstm, gru) learn labels that depend on earlier rows of a time series, which
no single row shows, and read back what they saved."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pipelines.datasets.profile import process
from pipelines.errors import InvalidRequestError
from pipelines.learning.base import EarlyStopping, TrainData
from pipelines.learning.data import input_matrix, train_data
from pipelines.learning.registry import load_predictor
from pipelines.learning.torch_fit import train_gru, train_lstm
from tests.learning.support import r2, spec_of

WINDOW = 4
HP = {"epochs": 20, "batch_size": 32, "learning_rate": 0.02, "hidden_size": 16, "sequence_length": WINDOW}


def series(kind: str, rows: int, seed: int) -> pd.DataFrame:
    """x is noise; the label at t is a function of x at t-1 and t-2."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=rows)
    past = np.concatenate([[0.0, 0.0], x[:-2]]) * 0.5 + np.concatenate([[0.0], x[:-1]])
    target = np.where(past > 0, "rise", "fall") if kind == "classification" else past
    days = pd.date_range("2020-01-01", periods=rows, freq="D")
    return pd.DataFrame({"day": days, "x": x, "target": target})


def windows(frame: pd.DataFrame, data: TrainData) -> np.ndarray:
    rows = frame[list(spec_of(data).names)].to_numpy().tolist()
    nested = [rows[t - WINDOW + 1 : t + 1] for t in range(WINDOW - 1, len(rows))]
    return input_matrix(nested, spec_of(data), sequence_length=WINDOW)


def case(kind: str) -> tuple[TrainData, np.ndarray, np.ndarray]:
    out = process(series(kind, 800, 1), kind, target=None, origin="s.csv")
    data = train_data(out.frame, out.metadata, 0.2, seed=0, dataset_type=kind)
    test = series(kind, 300, 2)
    y = test["target"].to_numpy()[WINDOW - 1 :]
    if kind == "classification":
        y = np.array([data.classes.index(v) for v in y])
    return data, windows(test, data), y


@pytest.mark.parametrize("trainer", [train_lstm, train_gru])
def test_sequence_classifier_learns_from_earlier_rows(trainer: object, tmp_path: Path) -> None:
    data, x_test, y_test = case("classification")
    assert data.time_series
    calls: list[int] = []
    fitted = trainer(data, HP, EarlyStopping(), lambda e, t, m: calls.append(e))  # type: ignore[operator]
    assert calls == list(range(1, 21))
    proba = fitted.predictor.predict_proba(x_test)
    assert proba.shape == (len(y_test), 2)
    assert float(np.mean(np.argmax(proba, axis=1) == y_test)) >= 0.95
    assert fitted.architecture["input_shape"] == [WINDOW, 1]
    name = "lstm" if trainer is train_lstm else "gru"
    fitted.predictor.save(tmp_path)
    assert np.array_equal(load_predictor(name, tmp_path).predict_proba(x_test), proba)


def test_sequence_regressor_learns_from_earlier_rows() -> None:
    data, x_test, y_test = case("regression")
    fitted = train_gru(data, HP, EarlyStopping(), lambda e, t, m: None)
    assert r2(y_test, fitted.predictor.predict_proba(x_test)) >= 0.95
    assert tuple(fitted.history) == ("loss", "mae", "val_loss", "val_mae")


def test_sequence_models_stop_early_on_the_best_epoch() -> None:
    data, _, _ = case("regression")
    early = EarlyStopping(enabled=True, patience=3, monitor="val_mae")
    fitted = train_lstm(data, {**HP, "epochs": 500, "learning_rate": 0.05}, early, lambda e, t, m: None)
    assert fitted.stopped_epoch is not None and fitted.stopped_epoch < 500
    assert fitted.stopped_epoch == fitted.best_epoch + 3
    assert fitted.best_epoch == int(np.argmin(fitted.history["val_mae"])) + 1


def test_sequence_models_need_a_time_series_and_enough_rows() -> None:
    data, _, _ = case("classification")
    with pytest.raises(InvalidRequestError, match="time series"):
        train_lstm(replace(data, time_series=False), HP, EarlyStopping(), lambda *a: None)
    with pytest.raises(
        InvalidRequestError, match="sequence_length 1000 is longer than the 640 training rows"
    ):
        train_gru(data, {**HP, "sequence_length": 1000}, EarlyStopping(), lambda *a: None)
