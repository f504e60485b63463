"""No look-ahead: a feature at row t must depend on bars 0..t only."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest

from pipelines.features import compute_features, make_labels

CUTS = (0, 1, 30, 77, 150, 299, 451, 598)


def _replace_future(bars: pd.DataFrame, t: int, seed: int) -> pd.DataFrame:
    """``bars`` with every row after ``t`` replaced by an unrelated random walk (valid OHLC,
    positive volume, a different price level); timestamps are kept."""
    rng = np.random.default_rng(seed)
    out = bars.copy()
    n = len(bars) - t - 1
    if n <= 0:
        return out
    close = bars["close"].iloc[t] * rng.uniform(0.5, 1.5) * np.exp(np.cumsum(rng.normal(0.0, 0.03, n)))
    open_ = close * np.exp(rng.normal(0.0, 0.01, n))
    high = np.maximum(open_, close) * np.exp(np.abs(rng.normal(0.0, 0.02, n)))
    low = np.minimum(open_, close) * np.exp(-np.abs(rng.normal(0.0, 0.02, n)))
    rows = out.index[t + 1 :]
    out.loc[rows, "open"] = open_
    out.loc[rows, "high"] = high
    out.loc[rows, "low"] = low
    out.loc[rows, "close"] = close
    out.loc[rows, "volume"] = rng.lognormal(12.0, 1.0, n)
    return out


def _changed_up_to(a: pd.DataFrame, b: pd.DataFrame, t: int) -> list[str]:
    """Columns whose values at rows 0..t differ between ``a`` and ``b`` (NaN equals NaN)."""
    head_a = a.iloc[: t + 1].drop(columns="timestamp").to_numpy()
    head_b = b.iloc[: t + 1].drop(columns="timestamp").to_numpy()
    same = (head_a == head_b) | (np.isnan(head_a) & np.isnan(head_b))
    return [col for col, ok in zip(a.columns[1:], same.all(axis=0), strict=True) if not ok]


@pytest.mark.parametrize("t", CUTS)
def test_features_ignore_the_future(t: int, bars: pd.DataFrame, features: pd.DataFrame) -> None:
    altered = _replace_future(bars, t, seed=1000 + t)
    recomputed = compute_features(altered, "default")
    assert _changed_up_to(features, recomputed, t) == []
    if t < len(bars) - 2:  # the perturbation is real: later rows do change
        tail_a = features.iloc[t + 1 :, 1:].to_numpy()
        tail_b = recomputed.iloc[t + 1 :, 1:].to_numpy()
        assert not np.allclose(tail_a, tail_b, equal_nan=True)


@pytest.mark.parametrize("t", (5, 60, 333))
def test_features_of_a_prefix_equal_the_prefix_of_the_features(
    t: int, bars: pd.DataFrame, features: pd.DataFrame
) -> None:
    """Computing on bars[:t+1] alone gives exactly the first t+1 rows (nothing reads past the end)."""
    head = compute_features(bars.iloc[: t + 1], "default")
    pd.testing.assert_frame_equal(head, features.iloc[: t + 1], check_exact=True)


def test_the_check_catches_a_look_ahead_feature(bars: pd.DataFrame) -> None:
    """The same comparison flags a centered rolling mean, which reads 2 bars ahead."""

    def leaky(frame: pd.DataFrame) -> pd.DataFrame:
        return pd.DataFrame(
            {"timestamp": frame["timestamp"], "centered": frame["close"].rolling(5, center=True).mean()}
        )

    t = 200
    assert _changed_up_to(leaky(bars), leaky(_replace_future(bars, t, seed=1)), t) == ["centered"]


def test_labels_do_look_ahead(bars: pd.DataFrame) -> None:
    """Labels are the one thing allowed to see the future, and they do."""
    t = 300
    before = make_labels(bars)
    after = make_labels(_replace_future(bars, t, seed=7))
    changed = _changed_up_to(before, after, t)
    assert set(changed) == set(before.columns[1:])


def test_input_frame_is_not_modified(bars: pd.DataFrame, make_bars: Callable[..., pd.DataFrame]) -> None:
    frame = make_bars(120, seed=11)
    snapshot = frame.copy(deep=True)
    out = compute_features(frame, "default")
    pd.testing.assert_frame_equal(frame, snapshot)
    out.iloc[:, 1:] = 0.0  # writing into the result leaves the input alone too
    pd.testing.assert_frame_equal(frame, snapshot)
