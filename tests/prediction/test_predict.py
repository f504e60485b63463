"""Single predictions: own and other symbols, served features equal training features, kinds, errors."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from pipelines.data.store import SeriesKey
from pipelines.data.stored_bars import load_bars
from pipelines.data.symbols import parse_symbol
from pipelines.data.timeframes import parse_timeframe
from pipelines.data.timeutil import parse_time
from pipelines.errors import DataNotFoundError, InvalidRequestError, InvalidSymbolError
from pipelines.features import compute_features, get_feature_set
from pipelines.models.registry import ModelRegistry
from pipelines.models.signals import derive_signals
from pipelines.models.training_matrix import make_training_data
from pipelines.prediction import Predictor
from pipelines.settings import Settings

from .conftest import HISTORY_START


def stored_bars(settings: Settings, symbol: str) -> pd.DataFrame:
    start = parse_time(settings.data.history_start)
    return load_bars(settings, source="synthetic", symbol=symbol, timeframe="1d", start=start)


def test_predict_own_symbol(trained_service: Predictor, trained_settings: Settings) -> None:
    p = trained_service.predict("lgbm_aapl")
    bars = stored_bars(trained_settings, "AAPL")
    meta = trained_service.registry.load("lgbm_aapl").meta
    assert (p.model_name, p.model_version, p.model_kind, p.symbol, p.timeframe) == (
        "lgbm_aapl",
        "1",
        "lightgbm",
        "AAPL",
        "1d",
    )
    last = bars["timestamp"].iloc[-1]
    assert p.timestamp == last.strftime("%Y-%m-%dT%H:%M:%SZ") and p.latest_date == last.date().isoformat()
    assert p.current_price == bars["close"].iloc[-1]
    assert p.data_points == len(bars) and p.features_used == len(meta.feature_names) > 60
    assert p.source == "synthetic" and p.horizon == 1 and p.computation_time_ms > 0
    expected = derive_signals(
        [p.predicted_return], p.current_price, meta.scale, meta.flat_threshold, meta.error_scale
    )
    assert p.value == pytest.approx(expected["value"][0], rel=1e-12)
    assert p.signal == pytest.approx(expected["signal"][0], rel=1e-12)
    assert p.confidence == pytest.approx(expected["confidence"][0], rel=1e-12, abs=1e-15)
    assert (p.direction, p.recommendation) == (expected["direction"][0], expected["recommendation"][0])
    body = p.as_dict()
    assert "forecast" not in body and body["model_kind"] == "lightgbm"
    json.dumps(body, allow_nan=False)


def test_served_features_equal_training_features(
    trained_service: Predictor, trained_settings: Settings
) -> None:
    """What training saw (compute_features over the bars it read, then make_training_data) is what serving
    feeds the model, row for row."""
    loaded = trained_service.registry.load("lgbm_aapl")
    names = loaded.meta.feature_names
    bars = stored_bars(trained_settings, "AAPL")
    features = compute_features(bars, get_feature_set(loaded.meta.feature_set))
    training = make_training_data(features, names, 1, bars)  # every bar but the last has a target

    served = trained_service.feature_row("lgbm_aapl")
    latest = features[names].iloc[-1].to_numpy()
    assert served["timestamp"] == bars["timestamp"].iloc[-1].strftime("%Y-%m-%dT%H:%M:%SZ")
    np.testing.assert_array_equal(np.array(list(served["features"].values()), dtype=float), latest)

    history = trained_service.signal_history("lgbm_aapl", days=40)
    stamps = pd.to_datetime([pt.timestamp for pt in history.points[:-1]], utc=True)
    rows = training.timestamps.get_indexer(stamps)
    assert (rows >= 0).all()
    want = loaded.model.predict(training.x[rows])
    np.testing.assert_array_equal([pt.predicted_return for pt in history.points[:-1]], want)

    # Serving computed only the indicators the trees split on, yet predicts what the full row gives.
    computed = trained_service.inputs.get(get_feature_set(loaded.meta.feature_set))
    assert len(computed.plan) < len(get_feature_set(loaded.meta.feature_set).plan)
    full_row = loaded.model.predict(latest.reshape(1, -1))[0]
    assert trained_service.predict("lgbm_aapl").predicted_return == full_row


def test_predict_another_stock_ingests_it(service: Predictor, settings: Settings) -> None:
    key = SeriesKey("synthetic", "1d", "MSFT")
    assert service.store.bounds(key) is None
    p = service.predict("lgbm_aapl", "msft")
    bars = stored_bars(settings, "MSFT")
    assert p.symbol == "MSFT" and p.model_name == "lgbm_aapl"
    assert p.current_price == bars["close"].iloc[-1] and p.data_points == len(bars)
    assert bars["timestamp"].iloc[0] >= pd.Timestamp(settings.data.history_start, tz="UTC")
    assert math.isfinite(p.predicted_return)


def test_lstm_predicts_from_its_context_rows(trained_service: Predictor) -> None:
    loaded = trained_service.registry.load("lstm_aapl")
    assert loaded.meta.context_rows == 5
    p = trained_service.predict("lstm_aapl")
    table = trained_service.features.table(
        parse_symbol("AAPL"), parse_timeframe("1d"), loaded.meta.feature_set
    )
    want = loaded.model.predict(table.matrix[-5:])
    assert math.isfinite(p.predicted_return) and p.predicted_return == want[-1]
    history = trained_service.signal_history("lstm_aapl", days=8)
    assert len(history.points) == 8 and all(math.isfinite(pt.predicted_return) for pt in history.points)
    assert history.points[-1].predicted_return == pytest.approx(p.predicted_return, rel=1e-6)


def test_multi_ohlc_returns_its_forecast(trained_service: Predictor) -> None:
    p = trained_service.predict("ohlc_aapl")
    assert p.forecast is not None and [s.step for s in p.forecast] == [1, 2, 3]
    assert p.horizon == 3
    assert p.forecast[-1].close == pytest.approx(p.value, rel=1e-12)
    assert all(s.high >= s.low > 0 for s in p.forecast)
    body = p.as_dict()
    assert [set(s) for s in body["forecast"]] == [{"step", "open", "high", "low", "close"}] * 3


def test_timeframe_and_symbol_errors(service: Predictor) -> None:
    with pytest.raises(InvalidRequestError, match=r"1d.*'1h'|'1h'.*1d"):
        service.predict("lgbm_aapl", "AAPL", timeframe="1h")
    with pytest.raises(InvalidRequestError, match="unknown timeframe"):
        service.predict("lgbm_aapl", "AAPL", timeframe="7x")
    with pytest.raises(InvalidSymbolError):
        service.predict("lgbm_aapl", "not a symbol!")
    with pytest.raises(InvalidRequestError, match="stock") as crypto:
        service.predict("lgbm_aapl", "BTC/USDT")
    assert not isinstance(crypto.value, InvalidSymbolError)
    with pytest.raises(DataNotFoundError, match="no_such_model"):
        service.predict("no_such_model")
    assert service.store.datasets() == []  # bad input stored nothing
    assert service.predict("lgbm_aapl", "AAPL", timeframe="1d").timeframe == "1d"


def test_resolve_model_by_name_or_kind(registry: ModelRegistry, settings: Settings) -> None:
    service = Predictor(settings, ModelRegistry(registry.tracker, settings.models_cache_dir))
    assert service.resolve_model("lgbm_msft") == "lgbm_msft"
    assert service.resolve_model("lightgbm", "MSFT") == "lgbm_msft"
    assert service.resolve_model("lightgbm", "AAPL") == "lgbm_aapl"
    assert service.resolve_model("LightGBM", "GOOG") == "lgbm_aapl"  # any of the kind: first by name
    assert service.resolve_model("lstm", "MSFT") == "lstm_aapl"
    assert service.resolve_model("multi_ohlc") == "ohlc_aapl"
    with pytest.raises(DataNotFoundError, match=r"kind 'xgboost'.*lgbm_aapl"):
        service.resolve_model("xgboost", "AAPL")
    with pytest.raises(DataNotFoundError, match=r"random_thing.*lgbm_aapl, lgbm_msft, lstm_aapl"):
        service.resolve_model("random_thing")
    assert service.resolve_model("lightgbm", "not a symbol!", "7x") == "lgbm_aapl"  # predict reports those
    with pytest.raises(InvalidRequestError):
        service.resolve_model("  ")


def test_signal_history(trained_service: Predictor, trained_settings: Settings) -> None:
    history = trained_service.signal_history("lgbm_aapl", "AAPL", days=25)
    stamps = [pt.timestamp for pt in history.points]
    assert len(stamps) == 25 and stamps == sorted(set(stamps))
    latest = trained_service.predict("lgbm_aapl")
    assert stamps[-1] == latest.timestamp
    assert history.points[-1].predicted_return == pytest.approx(latest.predicted_return, rel=1e-12)
    assert history.points[-1].signal == pytest.approx(latest.signal, rel=1e-12)
    assert history.points[-1].price == latest.current_price
    body = history.as_dict()
    assert body["count"] == 25 and body["signals"][0]["timestamp"] == stamps[0]
    everything = trained_service.signal_history("lgbm_aapl", days=3650)
    assert len(everything.points) == len(stored_bars(trained_settings, "AAPL"))
    assert pd.Timestamp(everything.points[0].timestamp) >= pd.Timestamp(HISTORY_START, tz="UTC")
    for bad in (0, 3651, -1, True, 2.5, "30"):
        with pytest.raises(InvalidRequestError, match="days"):
            trained_service.signal_history("lgbm_aapl", days=bad)  # type: ignore[arg-type]


def test_a_prediction_records_the_version_of_its_features(
    trained_service: Predictor, trained_settings: Settings
) -> None:
    """The data version names the latest bar, the bars read and the features of that bar."""
    first = trained_service.predict("lgbm_aapl")
    again = trained_service.predict("lgbm_aapl")
    other = trained_service.predict("lgbm_msft")
    bars = stored_bars(trained_settings, "AAPL")
    version = first.data_version
    assert version is not None and again.data_version == version
    assert version.last_bar == bars["timestamp"].iloc[-1] and version.rows == len(bars)
    assert len(version.content_hash) == 32
    assert other.data_version is not None and other.data_version.content_hash != version.content_hash
    assert "data_version" not in first.as_dict()  # the documented response shape is unchanged
