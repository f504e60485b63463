"""Walk-forward folds, their isolation from the test rows, stitching; compare_strategies."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from pipelines.backtest import BENCHMARK_LABEL, BacktestConfig, compare_strategies, fold_bounds, walk_forward
from pipelines.errors import InvalidRequestError
from pipelines.features import compute_features, feature_columns
from pipelines.models.kinds import create_model


def test_fold_bounds_rolling_and_expanding() -> None:
    folds = fold_bounds(1_000, 252, 63, "rolling")
    assert len(folds) == (1_000 - 252) // 63 == 11
    assert folds[0] == (range(0, 252), range(252, 315))
    assert folds[1] == (range(63, 315), range(315, 378))
    assert folds[-1] == (range(630, 882), range(882, 945))  # 945 + 63 > 1,000: no partial fold
    assert all(test.start == train.stop for train, test in folds)
    exp = fold_bounds(1_000, 252, 63, "expanding")
    assert [f[0] for f in exp[:2]] == [range(0, 252), range(0, 315)] and [f[1] for f in exp] == [
        f[1] for f in folds
    ]
    assert len(fold_bounds(252 * 6, 252, 63)) == 20
    with pytest.raises(InvalidRequestError, match="no complete fold"):
        fold_bounds(300, 252, 63)
    with pytest.raises(InvalidRequestError, match="mode"):
        fold_bounds(1_000, 252, 63, "sliding")


def test_fold_bounds_from_a_start_reach_back_a_horizon() -> None:
    folds = fold_bounds(1_000, 252, 63, "rolling", start=260, horizon=2)
    assert folds[0] == (range(258, 512), range(512, 575))  # 252 labelled rows + 2 without a label
    assert len(folds) == (1_000 - 260 - 252) // 63
    assert all(len(train) == 254 and train.stop == test.start for train, test in folds)
    exp = fold_bounds(1_000, 252, 63, "expanding", start=260, horizon=2)
    assert [f[0] for f in exp[:2]] == [range(258, 512), range(258, 575)]
    assert fold_bounds(400, 100, 50, start=0, horizon=3)[0][0] == range(0, 100)  # never before row 0
    with pytest.raises(InvalidRequestError, match=r"\(240 bars\): no complete fold"):
        fold_bounds(500, 200, 50, start=260)


def test_bars_before_the_start_fill_every_train_window(rand_bars: Any) -> None:
    bars = rand_bars(900, seed=3)
    start = bars["timestamp"].iloc[300]
    common: dict[str, Any] = {"train_window": 252, "test_window": 63, "n_jobs": 1}
    seen: list[tuple[float, str]] = []
    warm = walk_forward(bars, "simple", start=start, progress=lambda p, t: seen.append((p, t)), **common)
    assert [f.train_rows for f in warm.folds] == [252] * len(warm.folds) and len(warm.folds) == 5
    assert warm.folds[0].test.start == 300 + 252 and warm.folds[0].train.start == 300 - 1
    assert warm.warnings == () and warm.as_dict()["warnings"] == []
    assert [t for _, t in seen if t.startswith("fold")] == [f"fold {i}/5 fitted" for i in range(1, 6)]
    assert [p for p, _ in seen] == sorted(p for p, _ in seen) and seen[0][1] == "features of 900 bars"
    # Without older bars the first folds lose the indicators' warm-up (the longest is SMA 200), and say so.
    cold = walk_forward(bars.iloc[300:].reset_index(drop=True), "simple", **common)
    assert [f.train_rows for f in cold.folds][:2] == [252 - 199 - 1, 252 - 199 - 1 + 63]  # and the horizon
    assert len(cold.warnings) == 4 and cold.warnings[0].startswith("fold 0 trained on 52 rows, not 252")
    assert "need 199 bars of history" in cold.warnings[0] and "before 2024-10-27 exist" in cold.warnings[0]


class Recorder:
    """Wraps a real model and records the rows it was fitted on."""

    def __init__(self, names: list[str], log: list[np.ndarray]) -> None:
        self.inner = create_model("simple", {}, names)
        self.log = log
        self.feature_names = names

    def fit(self, x: np.ndarray, y: np.ndarray, x_val: Any = None, y_val: Any = None) -> None:
        self.log.append(x.copy())
        self.inner.fit(x, y)

    def predict(self, x: np.ndarray) -> np.ndarray:
        return self.inner.predict(x)


@pytest.mark.parametrize("mode", ["rolling", "expanding"])
def test_models_never_see_test_rows(rand_bars: Any, mode: str) -> None:
    bars = rand_bars(400, seed=4)
    log: list[np.ndarray] = []
    horizon = 3
    res = walk_forward(
        bars,
        "simple",
        train_window=150,
        test_window=50,
        mode=mode,
        feature_set="minimal",
        horizon=horizon,
        n_jobs=1,
        model_factory=lambda names: Recorder(names, log),  # type: ignore[arg-type,return-value]
    )
    x_all = compute_features(bars, "minimal")[feature_columns("minimal")].to_numpy()
    row_of = {x_all[i].tobytes(): i for i in range(len(x_all))}
    assert len(log) == len(res.folds) == 5
    for fold, x in zip(res.folds, log, strict=True):
        rows = np.array([row_of[r.tobytes()] for r in x])
        assert rows.min() >= fold.train.start
        # the label of the last training row looks `horizon` bars ahead: still inside the window
        assert rows.max() + horizon < fold.test.start and rows.max() == fold.train.stop - 1 - horizon
        assert fold.train_rows == len(x)


def test_stitched_curve_chains_the_folds(rand_bars: Any) -> None:
    bars = rand_bars(500, seed=8)
    config = BacktestConfig(initial_capital=1_000.0, allow_short=True)
    res = walk_forward(
        bars,
        "lightgbm",
        {"n_estimators": 20},
        train_window=200,
        test_window=60,
        config=config,
        feature_set="minimal",
        threshold=0.05,
        n_jobs=2,
    )
    assert [f.test.start for f in res.folds] == [200, 260, 320, 380, 440]
    assert res.equity.size == 300 and res.equity[0] == 1_000.0
    for prev, nxt in zip(res.folds, res.folds[1:], strict=False):
        assert nxt.result.config.initial_capital == prev.result.final_equity
    assert res.final_equity == res.folds[-1].result.final_equity
    assert res.metrics["total_return"] == pytest.approx(res.final_equity / 1_000.0 - 1.0)
    assert res.metrics["num_trades"] == sum(len(f.result.trades) for f in res.folds) > 0
    d = res.as_dict()
    assert d["folds"][0]["test_start"] == bars["timestamp"].iloc[200].isoformat()
    assert d["folds"][0]["train_end"] == bars["timestamp"].iloc[199].isoformat()
    serial = walk_forward(
        bars,
        "lightgbm",
        {"n_estimators": 20},
        train_window=200,
        test_window=60,
        config=config,
        feature_set="minimal",
        threshold=0.05,
        n_jobs=1,
    )
    np.testing.assert_allclose(serial.equity, res.equity)


def test_walk_forward_errors(rand_bars: Any) -> None:
    bars = rand_bars(100)
    with pytest.raises(InvalidRequestError, match="longer than the data"):
        walk_forward(bars, "simple", train_window=80, test_window=30)
    with pytest.raises(InvalidRequestError, match="horizon"):
        walk_forward(bars, "simple", train_window=30, test_window=10, horizon=30)
    with pytest.raises(InvalidRequestError):
        walk_forward(bars, "lightgbm", {"bogus": 1}, train_window=50, test_window=10)


def test_compare_has_benchmark_row(rand_bars: Any) -> None:
    bars = rand_bars(300, seed=2)
    config = BacktestConfig(stop_loss=0.02)
    rows = compare_strategies(
        bars, [("fast", "sma_cross", {"fast": 5, "slow": 20}), ("rsi", "rsi_reversion", None)], config
    )
    assert [r["label"] for r in rows] == ["fast", "rsi", BENCHMARK_LABEL]
    bench = rows[-1]
    assert bench["strategy"] == "buy_and_hold" and bench["num_trades"] == 1
    closes = bars["close"].to_numpy()
    units = 10_000.0 / (bars["open"].iloc[1] * 1.001)
    assert bench["final_equity"] == pytest.approx(units * closes[-1])
    with pytest.raises(InvalidRequestError, match="reserved"):
        compare_strategies(bars, [(BENCHMARK_LABEL, "sma_cross", {})], config)
