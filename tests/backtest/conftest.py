"""Bars builders and an MLflow tracker on a temp store for the backtest tests."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pipelines.models.tracking import MlflowTracker


def make_bars(
    open_: Sequence[float],
    high: Sequence[float] | None = None,
    low: Sequence[float] | None = None,
    close: Sequence[float] | None = None,
    freq: str = "D",
) -> pd.DataFrame:
    """Bars from explicit prices; high/low default to open/close +-1, close to the open."""
    o = np.asarray(open_, dtype=np.float64)
    c = o.copy() if close is None else np.asarray(close, dtype=np.float64)
    h = np.maximum(o, c) + 1.0 if high is None else np.asarray(high, dtype=np.float64)
    lo = np.minimum(o, c) - 1.0 if low is None else np.asarray(low, dtype=np.float64)
    return pd.DataFrame(
        {
            "timestamp": pd.date_range("2024-01-01", periods=o.size, freq=freq, tz="UTC"),
            "open": o,
            "high": h,
            "low": lo,
            "close": c,
            "volume": 1000.0,
        }
    )


def random_bars(n: int, seed: int = 0, freq: str = "D") -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    close = 100.0 * np.exp(np.cumsum(rng.normal(0.0, 0.015, n)))
    open_ = np.concatenate(([close[0]], close[:-1])) * np.exp(rng.normal(0.0, 0.003, n))
    spread = np.abs(rng.normal(0.0, 0.006, n)) * close
    bars = make_bars(open_, np.maximum(open_, close) + spread, np.minimum(open_, close) - spread, close, freq)
    bars["volume"] = rng.uniform(1e5, 1e6, n)
    return bars


@pytest.fixture
def bars_from() -> object:
    """``make_bars`` (sibling modules are not importable under --import-mode=importlib)."""
    return make_bars


@pytest.fixture
def rand_bars() -> object:
    return random_bars


@pytest.fixture(scope="session")
def _mlflow_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("mlflow")


@pytest.fixture
def tracker(_mlflow_root: Path, tmp_path: Path) -> Iterator[MlflowTracker]:
    yield MlflowTracker(f"sqlite:///{tmp_path / 'mlflow.db'}", tmp_path / "artifacts")
