"""``make demo`` names each Dagster run as it goes: the job, the partition and its place in the job."""

from __future__ import annotations

import dagster as dg

from assets.demo import step_labels


def test_each_run_is_named_by_job_partition_and_count() -> None:
    ingest = [
        ("ingest_market_data", dg.MultiPartitionKey({"symbol": s, "year": y}))
        for s in ("AAPL", "BTC-USDT")
        for y in ("2019", "2020")
    ]
    steps = [*ingest, ("build_features", "AAPL"), ("train_models", "lightgbm-AAPL-1d")]
    assert step_labels(steps) == [
        "ingest_market_data AAPL|2019 (1/4)",
        "ingest_market_data AAPL|2020 (2/4)",
        "ingest_market_data BTC-USDT|2019 (3/4)",
        "ingest_market_data BTC-USDT|2020 (4/4)",
        "build_features AAPL (1/1)",
        "train_models lightgbm-AAPL-1d (1/1)",
    ]
