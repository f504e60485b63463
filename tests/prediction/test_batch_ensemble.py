"""Batches (per-symbol errors, summary counts) and ensembles (weights checked and normalized)."""

from __future__ import annotations

import json
import math

import pytest

from pipelines.errors import InvalidRequestError
from pipelines.prediction import Predictor, normalize_weights


def test_batch_summary_and_per_symbol_errors(trained_service: Predictor) -> None:
    batch = trained_service.predict_batch("lgbm_aapl", ["AAPL", "MSFT", "not a symbol!", "BTC/USDT"])
    assert [p.symbol for p in batch.predictions] == ["AAPL", "MSFT"]
    assert [(e.symbol, e.code) for e in batch.errors] == [
        ("not a symbol!", "INVALID_SYMBOL"),
        ("BTC/USDT", "INVALID_REQUEST"),
    ]
    assert "stock" in batch.errors[1].message
    recs = [p.recommendation for p in batch.predictions]
    assert batch.summary() == {
        "total": 4,
        "successful": 2,
        "failed": 2,
        "buy_signals": recs.count("BUY"),
        "sell_signals": recs.count("SELL"),
        "hold_signals": recs.count("HOLD"),
    }
    body = batch.as_dict()
    assert body["summary"]["total"] == 4 and len(body["predictions"]) == 2
    json.dumps(body, allow_nan=False)


@pytest.mark.parametrize(
    ("symbols", "message"),
    [
        ([], "at least one"),
        ("AAPL", "list of strings"),
        (["AAPL", 3], "list of strings"),
        (["AAPL", "MSFT", "aapl"], "repeated: aapl"),
        (["BTC/USDT", "BTC_USDT"], r"BTC_USDT \(= BTC/USDT\)"),
        ([f"S{i}" for i in range(101)], "at most 100"),
    ],
)
def test_batch_rejects_bad_symbol_lists(trained_service: Predictor, symbols: object, message: str) -> None:
    with pytest.raises(InvalidRequestError, match=message):
        trained_service.predict_batch("lgbm_aapl", symbols)  # type: ignore[arg-type]


def test_ensemble_normalizes_weights(trained_service: Predictor) -> None:
    a = trained_service.predict("lgbm_aapl")
    b = trained_service.predict("lgbm_msft", "AAPL")
    out = trained_service.predict_ensemble(["lgbm_aapl", "lgbm_msft"], "AAPL", weights=[3, 1])
    assert out.models_used == ("lgbm_aapl", "lgbm_msft") and out.symbol == "AAPL"
    assert [m.weight for m in out.individual_predictions] == [0.75, 0.25]
    assert out.individual_predictions[0].weighted_signal == pytest.approx(0.75 * a.signal)
    assert out.ensemble_signal == pytest.approx(0.75 * a.signal + 0.25 * b.signal)
    assert out.ensemble_confidence == pytest.approx(0.75 * a.confidence + 0.25 * b.confidence)
    want = "BUY" if out.ensemble_signal > 0.2 else "SELL" if out.ensemble_signal < -0.2 else "HOLD"
    assert out.recommendation == want and out.current_price == a.current_price
    assert out.timestamp == a.timestamp
    equal = trained_service.predict_ensemble(["lgbm_aapl", "lgbm_msft"])  # the first model's symbol
    assert equal.symbol == "AAPL" and [m.weight for m in equal.individual_predictions] == [0.5, 0.5]
    assert set(out.as_dict()) == {
        "models_used",
        "symbol",
        "timestamp",
        "ensemble_signal",
        "ensemble_confidence",
        "individual_predictions",
        "recommendation",
        "current_price",
    }


@pytest.mark.parametrize(
    ("weights", "message"),
    [
        ([1.0], "one weight per model"),
        ([1.0, -1.0], "weight 2"),
        ([1.0, math.nan], "weight 2"),
        ([math.inf, 1.0], "weight 1"),
        ([0, 0], "not all be 0"),
        ([True, 1.0], "weight 1"),
        (["1", 1.0], "weight 1"),
    ],
)
def test_ensemble_rejects_bad_weights(trained_service: Predictor, weights: list[float], message: str) -> None:
    with pytest.raises(InvalidRequestError, match=message):
        trained_service.predict_ensemble(["lgbm_aapl", "lgbm_msft"], "AAPL", weights)


def test_ensemble_rejects_bad_model_lists(trained_service: Predictor) -> None:
    with pytest.raises(InvalidRequestError, match="repeated: lgbm_aapl"):
        trained_service.predict_ensemble(["lgbm_aapl", "lgbm_aapl"], "AAPL")
    with pytest.raises(InvalidRequestError, match="at least one"):
        trained_service.predict_ensemble([], "AAPL")
    assert normalize_weights([2, 2, 4], 3) == [0.25, 0.25, 0.5]
