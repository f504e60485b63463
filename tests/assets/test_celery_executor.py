"""Dagster beyond one machine: the instance in PostgreSQL (a database of this test's own) and the steps
of ``market_bars`` and ``features`` on two Celery workers (``tradeforge dagster worker``) through
RabbitMQ. Every partition is written once, recorded once, and both workers take steps."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from pipelines.runtime import dagster_env
from pipelines.settings import Settings, get_settings
from tests.celery_support import (
    celery_env,
    celery_workers,
    fresh_code_location,
    materialize,
    scratch_pg_database,
    services_missing,
    worker_of_each_step,
)

pytestmark = [pytest.mark.postgres, pytest.mark.rabbitmq, pytest.mark.slow]

SYMBOLS = ["AAPL", "MSFT", "SPY"]
THIS_YEAR = datetime.now(UTC).year
YEARS = [str(THIS_YEAR - 1), str(THIS_YEAR)]  # the partitions run to the current year


@pytest.fixture
def celery_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Settings, dict[str, str]]]:
    """This process and its workers on one home, one fresh PostgreSQL instance and queues of their own."""
    reason = services_missing()
    if reason:
        pytest.skip(reason)
    with scratch_pg_database() as pg_url:
        env = celery_env(tmp_path / "home", pg_url, SYMBOLS, f"{YEARS[0]}-01-01")
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        get_settings.cache_clear()
        settings = get_settings()
        env |= dagster_env(settings)
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        with fresh_code_location():
            yield settings, env
        get_settings.cache_clear()


def _materializations(asset: str) -> Counter[str]:
    import dagster as dg

    with dg.DagsterInstance.get() as instance:
        records = instance.fetch_materializations(dg.AssetKey(asset), limit=1000).records
        return Counter(str(r.partition_key) for r in records)


def test_partitions_materialize_once_each_across_two_workers(
    celery_home: tuple[Settings, dict[str, str]], tmp_path: Path
) -> None:
    import dagster as dg

    settings, env = celery_home
    with celery_workers(env, ["one", "two"], tmp_path) as logs:
        bars = materialize("ingest_market_data", None, processes=4)
        features = materialize("build_features", None, processes=4)
    runs = bars + features
    assert all(r.success for r in runs), [r for r in runs if not r.success]
    assert sorted(r.partition for r in bars) == sorted(f"{s}|{y}" for s in SYMBOLS for y in YEARS)

    with dg.DagsterInstance.get() as instance:
        assert type(instance.run_storage).__name__ == "PostgresRunStorage"
        workers = worker_of_each_step(instance, [r.run_id for r in runs])
    assert set(workers) == {r.run_id for r in runs}, "a step ran outside the Celery workers"
    took = Counter(name.split("-")[0] for name in workers.values())
    assert set(took) == {"one", "two"}, (took, [p.read_text()[-2000:] for p in logs])

    # Dagster recorded one materialization per partition, and each wrote its Parquet file once: the
    # one file holds the rows its one materialization reports written.
    assert _materializations("market_bars") == Counter(r.partition for r in bars)
    assert _materializations("features") == Counter(SYMBOLS)
    for symbol in SYMBOLS:
        series = settings.market_dir / "source=synthetic" / "timeframe=1d" / f"symbol={symbol}"
        assert sorted(p.name for p in series.iterdir()) == [f"year={y}" for y in YEARS]
        for year in YEARS:
            assert [p.name for p in (series / f"year={year}").iterdir()] == ["data.parquet"]
        table = settings.features_dir / "source=synthetic" / "timeframe=1d" / f"symbol={symbol}"
        assert [p.name for p in table.iterdir()] == ["features.parquet"]
    with dg.DagsterInstance.get() as instance:
        for record in instance.fetch_materializations(dg.AssetKey("market_bars"), limit=1000).records:
            metadata = record.asset_materialization.metadata  # type: ignore[union-attr]
            symbol, year = str(record.partition_key).split("|")
            path = settings.market_dir / "source=synthetic" / "timeframe=1d" / f"symbol={symbol}"
            rows = pq.read_metadata(path / f"year={year}" / "data.parquet").num_rows
            assert metadata["rows_written"].value == rows > 0
