"""Fixtures for the feature tests: a deterministic, realistic OHLCV series and the references."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import numpy as np
import pandas as pd
import pytest

from pipelines.features import compute_features

N_BARS = 600


def _load_refs() -> ModuleType:
    """``feature_refs.py`` beside this file (tests run with --import-mode=importlib, so siblings
    are not importable by name)."""
    spec = importlib.util.spec_from_file_location("feature_refs", Path(__file__).with_name("feature_refs.py"))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def random_bars(n: int, seed: int, *, start: str = "2024-01-01", freq: str = "1h") -> pd.DataFrame:
    """A seeded random walk in the canonical bar schema with valid OHLC and positive volume.

    Closes follow a geometric random walk; each bar opens near the previous close; high/low
    extend beyond open and close by a random amount. A few flat bars (high == low) and repeated
    closes exercise the zero-range and tie branches.
    """
    rng = np.random.default_rng(seed)
    close = 100.0 * np.exp(np.cumsum(rng.normal(0.0, 0.01, n)))
    close[n // 3 : n // 3 + 4] = close[n // 3]  # a run of equal closes (ties, zero changes)
    open_ = np.concatenate(([close[0]], close[:-1])) * np.exp(rng.normal(0.0, 0.002, n))
    high = np.maximum(open_, close) * np.exp(np.abs(rng.normal(0.0, 0.004, n)))
    low = np.minimum(open_, close) * np.exp(-np.abs(rng.normal(0.0, 0.004, n)))
    flat = n // 2
    open_[flat] = high[flat] = low[flat] = close[flat]  # a zero-range bar
    volume = rng.lognormal(10.0, 0.6, n)
    return pd.DataFrame(
        {
            "timestamp": pd.date_range(start, periods=n, freq=freq, tz="UTC").as_unit("ns"),
            "open": open_,
            "high": high,
            "low": low,
            "close": close,
            "volume": volume,
            "symbol": "TEST",
            "timeframe": freq,
            "source": "synthetic",
        }
    )


@pytest.fixture(scope="session")
def bars() -> pd.DataFrame:
    return random_bars(N_BARS, seed=20240101)


@pytest.fixture(scope="session")
def features(bars: pd.DataFrame) -> pd.DataFrame:
    """The default feature set over ``bars`` (computed once; tests must not modify it)."""
    return compute_features(bars, "default")


@pytest.fixture(scope="session")
def ohlcv(bars: pd.DataFrame) -> dict[str, np.ndarray]:
    return {c: bars[c].to_numpy(dtype=np.float64) for c in ("open", "high", "low", "close", "volume")}


@pytest.fixture(scope="session")
def ref() -> ModuleType:
    """The independent reference implementations and ``assert_matches`` (see feature_refs.py)."""
    return _load_refs()


@pytest.fixture(scope="session")
def make_bars() -> Callable[..., pd.DataFrame]:
    return random_bars
