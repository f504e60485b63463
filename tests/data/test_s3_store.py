"""The Parquet store, the DuckDB views and MLflow's artifacts on S3-compatible storage: a local moto
server stands in for AWS S3 or MinIO, reached through pyarrow's S3 filesystem and boto3."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow.parquet as pq
import pytest
from pydantic import ValidationError

from pipelines.data.ingest import ingest, open_store, plan_ingest
from pipelines.data.providers.synthetic import SyntheticProvider
from pipelines.data.storage import storage_health
from pipelines.data.store import ParquetStore, SeriesKey
from pipelines.data.stored_bars import load_bars
from pipelines.data.symbols import parse_symbol
from pipelines.data.timeframes import parse_timeframe
from pipelines.data.warehouse import Warehouse
from pipelines.settings import Settings

NOW = pd.Timestamp("2025-06-30T12:00", tz="UTC")
KEY = SeriesKey("synthetic", "1h", "BTC/USDT")
_AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing-secret",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_EC2_METADATA_DISABLED": "true",
}


@pytest.fixture(scope="module")
def moto_endpoint() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    with pytest.MonkeyPatch.context() as patch:
        for name, value in _AWS_ENV.items():
            patch.setenv(name, value)
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        server.start()
        host, port = server.get_host_and_port()
        try:
            yield f"http://{host}:{port}"
        finally:
            server.stop()


@pytest.fixture
def s3(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    """A boto3 client of the moto server, with a fresh bucket ``s3.bucket`` for this test."""
    import boto3

    for name, value in _AWS_ENV.items():
        monkeypatch.setenv(name, value)
    # Set by the code under test: recorded first so the teardown removes it again.
    monkeypatch.setenv("MLFLOW_S3_ENDPOINT_URL", "")
    monkeypatch.delenv("MLFLOW_S3_ENDPOINT_URL")
    client = boto3.client("s3", endpoint_url=moto_endpoint, region_name="us-east-1")
    client.bucket = f"tf-{uuid.uuid4().hex[:12]}"
    client.create_bucket(Bucket=client.bucket)
    return client


@pytest.fixture
def s3_settings(settings: Settings, s3: Any, moto_endpoint: str) -> Settings:
    return settings.model_copy(
        update={"data_url": f"s3://{s3.bucket}/lake", "s3_endpoint_url": moto_endpoint}
    )


def keys(s3: Any, prefix: str = "") -> list[str]:
    found = s3.list_objects_v2(Bucket=s3.bucket, Prefix=prefix).get("Contents", [])
    return sorted(item["Key"] for item in found)


def run(settings: Settings, start: str, end: str, tf: str = "1h") -> Any:
    request = plan_ingest(
        settings, source="synthetic", symbols=["BTC/USDT"], timeframe=tf, start=start, end=end
    )
    return ingest(settings, request, provider=SyntheticProvider(42, now=lambda: NOW), now=NOW)


def test_ingest_to_s3_reads_back_what_local_disk_holds(
    settings: Settings, s3_settings: Settings, s3: Any
) -> None:
    remote = run(s3_settings, "2023-12-30", "2024-01-03").as_dict()["symbols"]["BTC/USDT"]
    assert not (s3_settings.home / "market").exists(), "nothing written to the home's market folder"
    local = run(settings, "2023-12-30", "2024-01-03").as_dict()["symbols"]["BTC/USDT"]
    assert remote["rows_total"] == local["rows_total"] == 4 * 24
    assert remote["path"] == f"s3://{s3.bucket}/lake/market/source=synthetic/timeframe=1h/symbol=BTC-USDT"
    assert keys(s3) == [
        "lake/market/source=synthetic/timeframe=1h/symbol=BTC-USDT/year=2023/data.parquet",
        "lake/market/source=synthetic/timeframe=1h/symbol=BTC-USDT/year=2024/data.parquet",
    ]
    from_s3 = load_bars(s3_settings, source="synthetic", symbol="BTC/USDT", timeframe="1h")
    pd.testing.assert_frame_equal(
        from_s3, load_bars(settings, source="synthetic", symbol="BTC/USDT", timeframe="1h")
    )
    store = open_store(s3_settings)
    assert [b.key for b in store.datasets()] == [KEY]
    bounds = store.bounds(KEY)
    assert (
        bounds is not None and bounds.rows == 96 and bounds.last == pd.Timestamp("2024-01-02 23:00", tz="UTC")
    )


def test_incremental_ingest_on_s3_appends_without_duplicates(s3_settings: Settings, s3: Any) -> None:
    run(s3_settings, "2024-01-01", "2024-01-03")
    again = run(s3_settings, "2024-01-02", "2024-01-05").as_dict()["symbols"]["BTC/USDT"]
    assert again["rows_written"] == 2 * 24 and again["rows_total"] == 4 * 24
    bars = load_bars(s3_settings, source="synthetic", symbol="BTC/USDT", timeframe="1h")
    assert bars["timestamp"].is_unique and bars["timestamp"].is_monotonic_increasing
    assert len(bars) == 96 and bars["timestamp"].iloc[-1] == pd.Timestamp("2024-01-04 23:00", tz="UTC")
    assert len(keys(s3, "lake/market/")) == 1, "one object per year, replaced in place"


def test_duckdb_views_query_the_objects(s3_settings: Settings, s3: Any) -> None:
    from pipelines.features.store import build_features, load_features

    warehouse = Warehouse(s3_settings)
    assert warehouse.query("SELECT count(*) AS n FROM bars")["n"].iloc[0] == 0, "no objects yet: empty view"
    run(s3_settings, "2024-01-01", "2024-01-04")
    run(s3_settings, "2024-01-01", "2024-01-04", tf="1d")
    counts = warehouse.query(
        "SELECT timeframe, count(*) AS n, max(close) AS top FROM bars WHERE symbol = ? GROUP BY 1 ORDER BY 1",
        ["BTC/USDT"],
    )
    assert counts["timeframe"].tolist() == ["1d", "1h"] and counts["n"].tolist() == [3, 72]
    daily = warehouse.resample(source="synthetic", symbol="BTC/USDT", from_timeframe="1h", to_timeframe="1d")
    assert len(daily) == 3 and daily["high"].max() == pytest.approx(counts["top"].iloc[1], rel=0.05)
    assert (
        warehouse.query_readonly("SELECT count(*) AS n FROM bars WHERE timeframe = '1h'")["n"].iloc[0] == 72
    )
    build = build_features(s3_settings, source="synthetic", symbol="BTC/USDT", timeframe="1h")
    assert build.path.startswith(f"s3://{s3.bucket}/lake/features/")
    assert len(load_features(s3_settings, source="synthetic", symbol="BTC/USDT", timeframe="1h")) == 72
    rsi = warehouse.query("SELECT count(rsi_14) AS n FROM features WHERE symbol = 'BTC/USDT'")["n"].iloc[0]
    assert 0 < rsi < 72
    assert not s3_settings.warehouse_path.exists(), "the views over S3 live in memory, not in the home"


def test_failed_write_leaves_the_previous_object_intact(
    s3_settings: Settings, s3: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    run(s3_settings, "2024-01-01", "2024-01-03")
    [key] = keys(s3)
    before = s3.get_object(Bucket=s3.bucket, Key=key)["Body"].read()
    real_write = pq.write_table

    def broken(table: Any, where: Any, **kwargs: Any) -> None:
        half = table.slice(0, max(1, table.num_rows // 2))
        real_write(half, where, **kwargs)  # half a file reaches the sink, then the write fails
        raise OSError("connection reset mid-write")

    monkeypatch.setattr(pq, "write_table", broken)
    with pytest.raises(OSError, match="mid-write"):
        run(s3_settings, "2024-01-02", "2024-01-05")
    assert keys(s3) == [key], "no partial or temporary object"
    assert s3.get_object(Bucket=s3.bucket, Key=key)["Body"].read() == before
    monkeypatch.setattr(pq, "write_table", real_write)
    assert len(load_bars(s3_settings, source="synthetic", symbol="BTC/USDT", timeframe="1h")) == 48


class _CuttingProxy:
    """A TCP relay to the moto server that drops a connection once a request has sent more than
    ``cut_after`` bytes: an upload that dies on the network halfway through its body."""

    def __init__(self, upstream_port: int, cut_after: int) -> None:
        self.upstream_port, self.cut_after, self.cuts = upstream_port, cut_after, 0
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.upstream_port))
            threading.Thread(target=self._pump, args=(client, upstream, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, False), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket, request: bool) -> None:
        sent = 0
        try:
            while data := source.recv(65536):
                sent += len(data)
                if request and sent > self.cut_after:
                    self.cuts += 1
                    break
                sink.sendall(data)
        except OSError:
            pass
        for end in (source, sink):
            with contextlib.suppress(OSError):
                end.shutdown(socket.SHUT_RDWR)
            end.close()


def test_upload_cut_mid_body_leaves_the_previous_object_intact(
    s3_settings: Settings, s3: Any, moto_endpoint: str, tmp_path: Path
) -> None:
    import pyarrow.fs as pafs

    from pipelines.data.storage import DataStorage

    run(s3_settings, "2024-01-01", "2024-01-02")
    [key] = keys(s3)
    before = s3.get_object(Bucket=s3.bucket, Key=key)["Body"].read()
    proxy = _CuttingProxy(int(moto_endpoint.rsplit(":", 1)[1]), cut_after=16_384)
    flaky = pafs.S3FileSystem(
        endpoint_override=f"127.0.0.1:{proxy.port}",
        scheme="http",
        region="us-east-1",
        retry_strategy=pafs.AwsStandardS3RetryStrategy(max_attempts=1),
    )
    storage = DataStorage(filesystem=flaky, root=f"{s3.bucket}/lake", remote=True)
    store = ParquetStore(storage.market_root, tmp_path / "locks", storage)
    year = SyntheticProvider(42, now=lambda: NOW).fetch(
        parse_symbol("BTC/USDT"),
        parse_timeframe("1h"),
        pd.Timestamp("2024-01-01", tz="UTC"),
        pd.Timestamp("2024-12-31", tz="UTC"),
    )
    with pytest.raises(OSError):
        store.write(year)
    proxy.listener.close()
    assert proxy.cuts >= 1, "the upload went through the relay and was cut"
    assert keys(s3) == [key] and s3.get_object(Bucket=s3.bucket, Key=key)["Body"].read() == before
    assert len(load_bars(s3_settings, source="synthetic", symbol="BTC/USDT", timeframe="1h")) == 24


@pytest.mark.slow  # a fresh MLflow store's migrations and one training run, as on local disk
def test_model_artifacts_go_to_s3_and_load_back(s3_settings: Settings, s3: Any, moto_endpoint: str) -> None:
    from pipelines.app.train import plan_training, train_model
    from pipelines.models.registry import ModelRegistry
    from pipelines.models.tracking import open_tracker

    tracker = open_tracker(s3_settings)
    assert os.environ["MLFLOW_S3_ENDPOINT_URL"] == moto_endpoint
    plan = plan_training(
        s3_settings,
        model_type="simple",
        model_name="s3_simple",
        symbol="AAPL",
        timeframe="1d",
        source="synthetic",
        start="2023-01-01",
        end="2024-01-01",
    )
    result = train_model(s3_settings, plan, tracker)
    source = tracker.get_version("s3_simple", result.version).source
    artifacts = keys(s3, "lake/mlflow-artifacts/")
    assert artifacts and any(k.endswith("MLmodel") for k in artifacts)
    experiment = tracker.client.get_experiment_by_name("s3_simple")
    assert experiment.artifact_location.startswith(f"s3://{s3.bucket}/lake/mlflow-artifacts/")
    assert keys(s3, "lake/market/source=synthetic/timeframe=1d/symbol=AAPL/"), "its bars were ingested to S3"
    loaded = ModelRegistry(tracker, s3_settings.home / "models").load("s3_simple")
    assert loaded.version == result.version and loaded.meta.symbol == "AAPL"
    assert source and tracker.artifact_bytes(source) > 0


def test_data_url_must_be_an_s3_url(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="s3://bucket/prefix"):
        Settings(home=tmp_path, data_url="/mnt/lake")
    with pytest.raises(ValidationError, match="http"):
        Settings(home=tmp_path, data_url="s3://b", s3_endpoint_url="minio:9000")
    with pytest.raises(ValidationError, match="AWS_ACCESS_KEY_ID"):
        Settings(home=tmp_path, data_url="s3://b", s3_endpoint_url="http://key:secret@127.0.0.1:9000")
    ok = Settings(home=tmp_path, data_url="s3://bucket/lake/", s3_endpoint_url="http://127.0.0.1:9000/")
    assert ok.storage.data_url == "s3://bucket/lake" and ok.storage.s3_endpoint_url == "http://127.0.0.1:9000"
    assert ok.storage.mlflow_artifact_root == "s3://bucket/lake/mlflow-artifacts"
    assert Settings(home=tmp_path).storage.mlflow_artifact_root is None


def test_dagster_materializes_market_bars_and_features_into_s3(s3_settings: Settings, s3: Any) -> None:
    import dagster as dg

    from assets.market import build_market_assets
    from assets.resources import TradeforgeResource
    from pipelines.data.universe import history_years, resolve_universe
    from pipelines.settings import UniverseEntry

    one = s3_settings.model_copy(update={"universe": [UniverseEntry(symbol="AAPL", timeframes=["1d"])]})
    market, features = build_market_assets(one, resolve_universe(one))
    resources = {"tradeforge": TradeforgeResource.of(one)}
    year = history_years(one)[0]
    instance = dg.DagsterInstance.ephemeral()
    partition = dg.MultiPartitionKey({"symbol": "AAPL", "year": year})
    bars = dg.materialize(
        [market, features],
        selection=[market],
        partition_key=partition,
        resources=resources,
        instance=instance,
    )
    assert bars.success
    assert keys(s3) == [f"lake/market/source=synthetic/timeframe=1d/symbol=AAPL/year={year}/data.parquet"]
    built = dg.materialize(
        [market, features], selection=[features], partition_key="AAPL", resources=resources, instance=instance
    )
    assert built.success
    assert "lake/features/source=synthetic/timeframe=1d/symbol=AAPL/features.parquet" in keys(s3)
    stored = Warehouse(one).query("SELECT count(*) AS n FROM features WHERE symbol = 'AAPL'")["n"].iloc[0]
    assert stored == len(load_bars(one, source="synthetic", symbol="AAPL", timeframe="1d")) > 200


def test_cli_ingests_and_queries_s3_and_never_shows_credentials(
    env_home: Path, s3: Any, moto_endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from pipelines.cli import app
    from pipelines.settings import get_settings

    monkeypatch.setenv("TRADEFORGE_DATA_URL", f"s3://{s3.bucket}/cli")
    monkeypatch.setenv("TRADEFORGE_S3_ENDPOINT_URL", moto_endpoint)
    get_settings.cache_clear()
    runner = CliRunner()
    ingested = runner.invoke(app, ["ingest", "--symbols", "AAPL", "--start", "2024-01-01", "--json"])
    assert ingested.exit_code == 0, ingested.output
    assert keys(s3, "cli/market/source=synthetic/timeframe=1d/symbol=AAPL/")
    counted = runner.invoke(app, ["query", "SELECT count(DISTINCT symbol) AS symbols FROM bars"])
    assert counted.exit_code == 0, counted.output
    assert counted.stdout.split() == ["symbols", "1"]
    refused = runner.invoke(app, ["query", "SELECT * FROM read_parquet('/etc/passwd')"])
    assert refused.exit_code == 2
    shown = runner.invoke(app, ["config", "--json"])
    assert shown.exit_code == 0 and _AWS_ENV["AWS_SECRET_ACCESS_KEY"] not in shown.stdout
    storage = json.loads(shown.stdout)["storage"]["fields"]
    assert storage["data_url"]["value"] == f"s3://{s3.bucket}/cli"
    assert storage["s3_endpoint_url"]["env"] == "TRADEFORGE_S3_ENDPOINT_URL"


def test_health_reports_the_bucket_without_naming_the_endpoint(
    s3_settings: Settings, s3: Any, tmp_path: Path
) -> None:
    assert storage_health(s3_settings) == "healthy"
    gone = s3_settings.model_copy(update={"data_url": f"s3://{s3.bucket}-missing/lake"})
    assert storage_health(gone) == "unhealthy: bucket not found"
    with socket.socket() as closed:  # a port nobody listens on once this socket is closed
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    endpoint = f"http://127.0.0.1:{port}"
    down = s3_settings.model_copy(update={"s3_endpoint_url": endpoint})
    started = time.monotonic()
    answer = storage_health(down)
    assert answer.startswith("unhealthy: ") and endpoint not in answer and str(port) not in answer
    assert time.monotonic() - started < 5  # one quick attempt, not the data path's retries
    local = s3_settings.model_copy(update={"data_url": None, "home": tmp_path})
    assert storage_health(local) == "healthy"
    (tmp_path / "market").write_text("not a folder")
    assert storage_health(local) == "unhealthy: not a folder"
