"""Synthetic bars stand in only for the universe's symbols or an explicit ``source="synthetic"``: a
symbol outside the universe is read from its real provider, and when that fails the request is
refused with a message naming the sources tried, before anything is stored or trained."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from pipelines.app.train import TrainQuery, plan_query
from pipelines.cli import app
from pipelines.data.default_source import default_source
from pipelines.data.ingest import ingest, plan_ingest
from pipelines.errors import DataNotFoundError
from pipelines.models.tracking import open_tracker
from pipelines.settings import Settings
from tests.serving_support import app_client, make_user, served_settings

runner = CliRunner()


@pytest.fixture
def offline_yahoo(offline_yahoo: list[str], monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Yahoo offline (tests/conftest.py), with no retries to wait through."""
    monkeypatch.setenv("TRADEFORGE_PROVIDER_MAX_RETRIES", "0")
    return offline_yahoo


def _market_files(settings: Settings) -> list[Path]:
    market = settings.market_dir
    return sorted(p for p in market.rglob("*") if p.is_file()) if market.exists() else []


def test_the_universe_keeps_its_synthetic_default(settings: Settings) -> None:
    assert default_source(settings, "AAPL") == "synthetic"
    assert default_source(settings, "BTC/USDT", "1h") == "synthetic"


def test_an_unknown_symbol_names_the_sources_tried_and_stores_nothing(
    settings: Settings, offline_yahoo: list[str]
) -> None:
    offline = Settings(
        home=settings.home, history_start="2024-01-01", provider_max_retries=0, provider_backoff_seconds=0
    )
    with pytest.raises(DataNotFoundError) as caught:
        plan_query(offline, TrainQuery(model_type="simple", symbol="ZZZZ"))
    message = str(caught.value)
    assert "no data for ZZZZ" in message
    assert "not in the universe" in message and "synthetic" in message
    assert "yfinance" in message and "Could not resolve host" in message
    assert offline_yahoo == ["ZZZZ"]
    assert _market_files(offline) == []


def test_an_explicit_synthetic_source_serves_any_symbol(settings: Settings) -> None:
    request = plan_query(settings, TrainQuery(model_type="simple", symbol="ZZZZ", source="synthetic"))
    assert request.source == "synthetic"


def test_bars_already_stored_for_a_symbol_are_used(settings: Settings) -> None:
    plan = plan_ingest(settings, source="synthetic", symbols=["ZZZZ"], timeframe="1d", start="2024-01-01")
    assert not ingest(settings, plan).failed
    assert default_source(settings, "ZZZZ") == "synthetic"


def test_cli_train_of_a_typo_exits_2_and_registers_nothing(env_home: Path, offline_yahoo: list[str]) -> None:
    result = runner.invoke(
        app, ["train", "--model-type", "simple", "--model-name", "typo", "--symbol", "ZZZZ"]
    )
    assert result.exit_code == 2, result.output
    assert "no data for ZZZZ" in result.stderr and "yfinance" in result.stderr
    settings = Settings(home=env_home)
    assert _market_files(settings) == []
    assert open_tracker(settings).client.search_registered_models() == []


def test_cli_train_with_explicit_synthetic_source_trains_any_symbol(env_home: Path) -> None:
    args = [
        "train",
        "--model-type",
        "simple",
        "--model-name",
        "zz",
        "--symbol",
        "ZZZZ",
        "--source",
        "synthetic",
    ]
    result = runner.invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output


def test_api_train_and_backtest_of_an_unknown_symbol_are_404(
    tmp_path: Path, offline_yahoo: list[str]
) -> None:
    settings = served_settings(tmp_path / "home", provider_max_retries=0, provider_backoff_seconds=0)
    with app_client(settings) as client:
        headers = make_user(client)["headers"]
        train = client.post(
            "/api/v1/models/train", json={"model_type": "simple", "symbol": "ZZZZ"}, headers=headers
        )
        backtest = client.post(
            "/api/v1/backtest/run",
            json={"symbol": "ZZZZ", "strategy": "sma_cross", "params": {"fast": 10, "slow": 30}},
            headers=headers,
        )
    for answer in (train, backtest):
        assert answer.status_code == 404, answer.text
        message = answer.json()["error"]["message"]
        assert "no data for ZZZZ" in message and "yfinance" in message
    assert _market_files(settings) == []
    assert open_tracker(settings).client.search_registered_models() == []
