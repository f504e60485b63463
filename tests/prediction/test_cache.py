"""The feature-row cache: no I/O on a hit, one metadata read after the TTL, refresh on new bars."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pytest

from pipelines.data.ingest import ingest, plan_ingest
from pipelines.data.store import SeriesKey
from pipelines.data.symbols import parse_symbol
from pipelines.data.timeframes import parse_timeframe
from pipelines.features import get_feature_set
from pipelines.prediction import Predictor
from pipelines.settings import Settings


def count_calls(monkeypatch: pytest.MonkeyPatch, obj: object, name: str) -> list[int]:
    calls: list[int] = []
    real: Callable[..., Any] = getattr(obj, name)

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(obj, name, counted)
    return calls


def store_until(settings: Settings, symbol: str, end: str) -> None:
    report = ingest(
        settings, plan_ingest(settings, source="synthetic", symbols=[symbol], timeframe="1d", end=end)
    )
    assert not report.failed


def test_cache_hit_does_no_io(service: Predictor, monkeypatch: pytest.MonkeyPatch) -> None:
    service.predict("lgbm_msft", "AAPL")  # loaded first: the features computed cover both models
    first = service.predict("lgbm_aapl", "AAPL")
    reads = count_calls(monkeypatch, service.store, "read")
    bounds = count_calls(monkeypatch, service.store, "bounds")
    again = service.predict("lgbm_aapl", "AAPL")
    assert (len(reads), len(bounds)) == (0, 0)
    assert again.predicted_return == first.predicted_return and again.timestamp == first.timestamp
    service.predict("lgbm_msft", "AAPL")  # another model on the same dataset shares the entry
    assert (len(reads), len(bounds)) == (0, 0)
    service.features.ttl = 0.0  # expired: one metadata read, no new bars, so no recompute
    service.predict("lgbm_aapl", "AAPL")
    assert (len(reads), len(bounds)) == (0, 1)


def test_new_bars_refresh_after_the_ttl(
    service: Predictor, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    store_until(settings, "AAPL", "2025-01-01")
    old = service.predict("lgbm_aapl", "AAPL")
    assert old.latest_date == "2024-12-31"
    store_until(settings, "AAPL", "2025-03-01")
    assert service.predict("lgbm_aapl", "AAPL").timestamp == old.timestamp  # still fresh: cached
    reads = count_calls(monkeypatch, service.store, "read")
    service.features.ttl = 0.0
    new = service.predict("lgbm_aapl", "AAPL")
    assert new.latest_date == "2025-02-28" and len(reads) == 1
    assert new.data_points > old.data_points
    assert new.current_price != old.current_price or new.predicted_return != old.predicted_return


def test_the_model_is_called_once_per_feature_row(
    service: Predictor, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Between new bars every call asks the model the same question: its answer is reused (each
    call still gets its own prediction); new bars, the TTL's recheck finding none, and a reload
    behave as they should."""
    store_until(settings, "AAPL", "2025-01-01")
    first = service.predict("lgbm_aapl", "AAPL")
    calls = count_calls(monkeypatch, service, "caller")
    again = service.predict("lgbm_aapl", "AAPL")
    assert calls == [] and again is not first
    assert (again.predicted_return, again.signal, again.recommendation, again.indicators) == (
        first.predicted_return,
        first.signal,
        first.recommendation,
        first.indicators,
    )
    service.features.ttl = 0.0  # rechecked, no new bars: the same rows, still no model call
    assert service.predict("lgbm_aapl", "AAPL").predicted_return == first.predicted_return
    assert calls == []
    store_until(settings, "AAPL", "2025-03-01")  # new bars: a new row, so the model is called
    newer = service.predict("lgbm_aapl", "AAPL")
    assert calls == [1] and newer.latest_date == "2025-02-28"
    service.predict("lgbm_msft", "AAPL")  # another model: its own answer
    assert calls == [1, 1]
    service.reload("lgbm_aapl")  # a reloaded version predicts again
    assert service.predict("lgbm_aapl", "AAPL").predicted_return == newer.predicted_return
    assert calls == [1, 1, 1]


def test_invalidate_drops_entries(service: Predictor, settings: Settings) -> None:
    store_until(settings, "AAPL", "2025-01-01")
    service.predict("lgbm_aapl", "AAPL")
    store_until(settings, "AAPL", "2025-02-01")
    assert service.invalidate("aapl", "1h") == 0
    assert service.invalidate("aapl", "1d") == 1
    assert service.predict("lgbm_aapl", "AAPL").latest_date == "2025-01-31"
    assert service.invalidate("AAPL") == 1 and service.invalidate("AAPL") == 0


def test_concurrent_predictions_agree(service: Predictor) -> None:
    expected = {s: service.predict("lgbm_aapl", s).predicted_return for s in ("AAPL", "MSFT")}
    service.features.clear()
    results: list[tuple[str, float]] = []
    errors: list[BaseException] = []

    def work(symbol: str) -> None:
        try:
            for _ in range(20):
                results.append((symbol, service.predict("lgbm_aapl", symbol).predicted_return))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(s,)) for s in ("AAPL", "MSFT") * 4]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and len(results) == 160
    assert all(value == expected[symbol] for symbol, value in results)
    assert pd.Series([s for s, _ in results]).value_counts().to_dict() == {"AAPL": 80, "MSFT": 80}


def test_ready_says_when_predict_answers_from_memory(service: Predictor) -> None:
    """The API predicts inline on its event loop only when ``ready``; otherwise in a thread."""
    assert not service.ready("lgbm_aapl", "AAPL")  # nothing loaded yet
    service.predict("lgbm_aapl", "AAPL")
    assert service.ready("lgbm_aapl", "AAPL")
    assert not service.ready("lgbm_aapl", "MSFT")  # that symbol's features are not cached
    assert not service.ready("no_such_model", "AAPL")
    assert service.ready("lgbm_aapl", "AAPL", "1h")  # bad input fails at once: nothing to wait for
    service.invalidate("AAPL")
    assert not service.ready("lgbm_aapl", "AAPL")


def test_live_bars_are_held_and_appended_without_reading_parquet(
    service: Predictor, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``extend`` (the live feed's hook) keeps a live dataset's bars in memory and appends new ones:
    a new bar's features are computed with no Parquet read, from the kernels' states (a history
    longer than the default set's lookback of 432 bars), and they equal a cold computation."""
    settings = settings.model_copy(update={"history_start": "2022-06-01"})
    service = Predictor(settings, service.registry)
    key = SeriesKey("synthetic", "1d", "AAPL")
    store_until(settings, "AAPL", "2025-01-01")
    service.predict("lgbm_aapl", "AAPL")
    before = service.store.read(key)
    assert service.extend("AAPL", "1d", before.tail(1)) == 1  # marks the dataset live, drops the row
    service.predict("lgbm_aapl", "AAPL")  # reads the store once and holds the bars
    reads = count_calls(monkeypatch, service.store, "read")
    bounds = count_calls(monkeypatch, service.store, "bounds")
    for end in ("2025-01-08", "2025-01-15"):
        seen = pd.Timestamp(service.predict("lgbm_aapl", "AAPL").timestamp)
        store_until(settings, "AAPL", end)
        cold = Predictor(settings, service.registry)  # its own store object: not counted
        expected = cold.predict("lgbm_aapl", "AAPL")
        stored = cold.store.read(key)
        added = stored[stored["timestamp"] > seen]
        assert len(added) >= 4
        reads.clear()
        bounds.clear()
        assert service.extend("AAPL", "1d", added) == 1
        streamed = service.features.streamed
        live = service.predict("lgbm_aapl", "AAPL")
        assert (reads, bounds) == ([], [])  # the held bars were extended: no Parquet read at all
        # ... and only the new bars' features were computed, resumed from the kernels' states
        assert service.features.streamed == streamed + 1
        assert (live.timestamp, live.predicted_return) == (expected.timestamp, expected.predicted_return)
        assert live.data_points == expected.data_points
        sym, tf = parse_symbol("AAPL"), parse_timeframe("1d")
        default = get_feature_set("default")
        computed = service.inputs.get(default)  # what the model reads and the logged indicators
        assert computed.name.startswith("default[") and len(computed.plan) < len(default.plan)
        held = service.features.rows(sym, tf, computed, 5).matrix
        assert np.array_equal(held, cold.features.rows(sym, tf, computed, 5).matrix, equal_nan=True)
    # Bars that do not follow the held ones drop the held copy: the next computation reads afresh.
    service.extend("AAPL", "1d", before.tail(3))
    reads.clear()
    assert service.predict("lgbm_aapl", "AAPL").latest_date == "2025-01-14"
    assert len(reads) == 1
