"""Data flows through the asset graph: training reads the materialized features partition, never
ingests, and the MLflow run records the data version the ``features`` materialization reported."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import dagster as dg
import pytest

import pipelines.app.ingest
import pipelines.data.ingest
from assets.definitions import build_definitions
from assets.market import build_market_assets
from assets.models import build_model_assets
from assets.resources import TrackerResource, TradeforgeResource
from pipelines.data.universe import history_years, resolve_universe
from pipelines.data.version import DATA_LAST_BAR_TAG, DATA_ROWS_TAG, DATA_VERSION_TAG
from pipelines.features.store import read_feature_table
from pipelines.models.specs import load_specs
from pipelines.models.tracking import MlflowTracker
from pipelines.settings import Settings, UniverseEntry

SPECS = """
defaults: {source: synthetic, lookback_days: 900, validation_split: 0.2, horizon: 1}
specs:
  - {kind: simple, symbol: AAPL, timeframe: 1d, model_name: ridge_aapl}
"""


def _refuse(*_args: Any, **_kwargs: Any) -> Any:
    raise AssertionError("training fetched bars: it must read the materialized partition only")


def _block_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """No connection but to loopback (conftest blocks socket.connect; this adds create_connection)."""
    real = socket.create_connection

    def loopback_only(address: tuple[str, int], *args: Any, **kwargs: Any) -> socket.socket:
        if address[0] not in ("127.0.0.1", "::1", "localhost"):
            raise OSError(f"tests may not reach the network ({address[0]})")
        return real(address, *args, **kwargs)

    monkeypatch.setattr(socket, "create_connection", loopback_only)


@pytest.fixture
def one_symbol(settings: Settings) -> Settings:
    return settings.model_copy(update={"universe": [UniverseEntry(symbol="AAPL", timeframes=["1d"])]})


def _specs(tmp_path: Path) -> Path:
    specs = tmp_path / "specs.yaml"
    specs.write_text(SPECS)
    return specs


def _assets(settings: Settings, tmp_path: Path) -> tuple[list[dg.AssetsDefinition], dict[str, Any]]:
    """``market_bars``, ``features`` and ``trained_models`` unbound, and the resources they take."""
    items = resolve_universe(settings)
    market, features = build_market_assets(settings, items)
    trained = build_model_assets(load_specs(_specs(tmp_path)), items, features)
    tradeforge = TradeforgeResource.of(settings)
    resources = {"tradeforge": tradeforge, "tracker": TrackerResource(tradeforge=tradeforge)}
    return [market, features, trained], resources


def _data_version(result: dg.ExecuteInProcessResult, node: str) -> str:
    (mat,) = result.asset_materializations_for_node(node)
    return str(mat.tags["dagster/data_version"])


def test_training_records_the_materialized_features_version(
    one_symbol: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _block_network(monkeypatch)
    everything, resources = _assets(one_symbol, tmp_path)
    market, features, trained = everything
    instance = dg.DagsterInstance.ephemeral()
    for year in history_years(one_symbol):
        key = dg.MultiPartitionKey({"symbol": "AAPL", "year": year})
        bars = dg.materialize(
            everything, selection=[market], partition_key=key, resources=resources, instance=instance
        )
        (mat,) = bars.asset_materializations_for_node("market_bars")
        assert _data_version(bars, "market_bars") == mat.metadata["data_versions"].value["1d"]
    # A partition ingested again with nothing new keeps its version: nothing downstream goes stale.
    first_year = dg.MultiPartitionKey({"symbol": "AAPL", "year": history_years(one_symbol)[0]})
    versions = [
        _data_version(
            dg.materialize(everything, selection=[market], partition_key=first_year, resources=resources),
            "market_bars",
        )
        for _ in range(2)
    ]
    assert versions[0] == versions[1]
    built = dg.materialize(
        everything, selection=[features], partition_key="AAPL", resources=resources, instance=instance
    )
    features_version = _data_version(built, "features")
    table = read_feature_table(one_symbol, source="synthetic", symbol="AAPL", timeframe="1d")
    assert features_version == table.version.content_hash
    assert built.asset_materializations_for_node("features")[0].metadata["data_versions"].value == {
        "1d": features_version
    }

    # From here on, any fetch is a failure: training must read the stored partition as it is.
    monkeypatch.setattr(pipelines.app.ingest, "ingest", _refuse)
    monkeypatch.setattr(pipelines.data.ingest, "get_provider", _refuse)
    trained_run = dg.materialize(
        everything,
        selection=[trained],
        partition_key="simple-AAPL-1d",
        resources=resources,
        instance=instance,
    )
    assert trained_run.success
    (mat,) = trained_run.asset_materializations_for_node("trained_models")
    assert mat.metadata["data_version"].value == features_version
    tracker = MlflowTracker(one_symbol.resolved_mlflow_uri())
    run = tracker.client.get_run(mat.metadata["run_id"].value)
    assert run.data.tags[DATA_VERSION_TAG] == features_version
    assert run.data.tags[DATA_LAST_BAR_TAG] == table.version.last_bar_iso
    assert run.data.tags[DATA_ROWS_TAG] == str(len(table.frame))
    assert instance.get_latest_data_version_record(dg.AssetKey("features"), partition_key="AAPL") is not None


def test_training_without_the_features_partition_fails_and_fetches_nothing(
    one_symbol: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    defs = build_definitions(one_symbol, specs_path=_specs(tmp_path))
    monkeypatch.setattr(pipelines.app.ingest, "ingest", _refuse)
    result = defs.resolve_job_def("train_models").execute_in_process(
        partition_key="simple-AAPL-1d", raise_on_error=False
    )
    assert not result.success
    failure = next(e for e in result.all_events if e.is_step_failure)
    message = str(failure.event_specific_data)
    assert "no materialized features for AAPL 1d" in message
    assert "materialize the `features` asset for partition AAPL" in message
    assert not one_symbol.market_dir.exists() and not one_symbol.features_dir.exists()
