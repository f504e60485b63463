"""Assets ``market_bars`` (symbol x year) and ``features`` (symbol), with quality checks.

Each asset is a thin call into ``pipelines`` (``market_bars``: the ingest use case,
:func:`pipelines.app.ingest.ingest_partition`); the checks report the rules of
``pipelines.data.quality`` for the data the run wrote. Both report a Dagster data version, the
content hash of the Parquet files they wrote (:mod:`pipelines.data.version`), so the UI marks the
assets downstream of a changed partition stale.
"""

import warnings
from collections.abc import Iterable

import dagster as dg

from assets.partitions import market_partitions, symbol_partitions
from assets.resources import TradeforgeResource
from pipelines.app.ingest import PartitionIngest, PartitionRequest, ingest_partition
from pipelines.data.quality import QualityReport
from pipelines.data.universe import UniverseItem, universe_item
from pipelines.data.version import combine_hashes
from pipelines.errors import InvalidRequestError
from pipelines.features.store import build_features
from pipelines.settings import Settings

HARD_CHECKS = {
    "timestamps_unique_increasing": ("duplicate_timestamps", "non_increasing_timestamps"),
    "ohlc_consistent": ("high_below_open_or_close", "low_above_open_or_close", "non_positive_prices"),
    "volume_non_negative": ("negative_volume",),
}


def _check_results(quality: dict[str, QualityReport]) -> Iterable[dg.AssetCheckResult]:
    for name, fields in HARD_CHECKS.items():
        bad = {tf: {f: getattr(q, f) for f in fields if getattr(q, f)} for tf, q in quality.items()}
        bad = {tf: v for tf, v in bad.items() if v}
        yield dg.AssetCheckResult(
            check_name=name, passed=not bad, metadata={"violations": bad, "timeframes": sorted(quality)}
        )
    gaps = {tf: q.gap_count for tf, q in quality.items()}
    largest = {
        tf: [g.__dict__ if hasattr(g, "__dict__") else g for g in q.gaps[:5]] for tf, q in quality.items()
    }
    yield dg.AssetCheckResult(
        check_name="no_unexpected_gaps",
        passed=not any(gaps.values()),
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"gap_count": gaps, "largest_gaps": largest},
    )


def _by_symbol() -> dg.PartitionMapping:
    """Each symbol's features depend on all of its years of bars."""
    with warnings.catch_warnings():  # Dagster marks this mapping beta; we rely on it knowingly
        warnings.filterwarnings("ignore", message="Class `MultiToSingleDimensionPartitionMapping`")
        return dg.MultiToSingleDimensionPartitionMapping(partition_dimension_name="symbol")


def _bars_result(run: PartitionIngest) -> dg.MaterializeResult:  # type: ignore[type-arg]
    """The materialization of one ``market_bars`` partition: metadata, checks and data version."""
    versions = {tf: v.content_hash for tf, v in run.versions().items()}
    return dg.MaterializeResult(
        metadata={
            "symbol": run.item.symbol.name,
            "source": run.item.source,
            "rows_written": run.rows_written,
            "rows": {tf: q.rows for tf, q in run.quality.items()},
            "fetched": {tf: r.symbols[0].fetched for tf, r in run.reports.items()},
            "path": run.reports[next(iter(run.reports))].symbols[0].path,
            "data_versions": versions,
        },
        check_results=list(_check_results(run.quality)),
        data_version=dg.DataVersion(combine_hashes(versions)) if versions else None,
    )


def _market_bars_asset(settings: Settings, items: list[UniverseItem]) -> dg.AssetsDefinition:
    @dg.asset(
        partitions_def=market_partitions(settings, items),
        group_name="market_data",
        kinds={"parquet", "duckdb"},
        check_specs=[dg.AssetCheckSpec(name, asset="market_bars") for name in HARD_CHECKS]
        + [dg.AssetCheckSpec("no_unexpected_gaps", asset="market_bars", description="Reported, not failed.")],
        retry_policy=dg.RetryPolicy(max_retries=2, delay=30, backoff=dg.Backoff.EXPONENTIAL),
        description="OHLCV bars of one universe symbol for one calendar year, at each configured timeframe, "
        "fetched incrementally into Parquet under market/ of the home or of TRADEFORGE_DATA_URL's bucket, "
        "and the DuckDB view `bars`.",
    )
    # Bare ``MaterializeResult``: Dagster reads a subscripted one as a single output, and this asset
    # also has its checks' outputs.
    def market_bars(
        context: dg.AssetExecutionContext, tradeforge: TradeforgeResource
    ) -> dg.MaterializeResult:  # type: ignore[type-arg]
        keys = context.partition_key.keys_by_dimension
        try:
            run = ingest_partition(tradeforge.settings, PartitionRequest(keys["symbol"], int(keys["year"])))
        except InvalidRequestError as exc:  # bad configuration: retrying cannot help
            raise dg.Failure(description=str(exc), allow_retries=False) from exc
        if run.errors():  # the source failed after its own retries; the run-level policy tries again later
            raise dg.Failure(description="ingest failed: " + "; ".join(run.errors()))
        return _bars_result(run)

    return market_bars


def _features_asset(items: list[UniverseItem], market_bars: dg.AssetsDefinition) -> dg.AssetsDefinition:
    @dg.asset(
        partitions_def=symbol_partitions(items),
        group_name="features",
        kinds={"parquet", "numba"},
        deps=[dg.AssetDep(market_bars, partition_mapping=_by_symbol())],
        automation_condition=dg.AutomationCondition.eager(),
        description="The bars and the default feature set and forward labels over all stored bars of one "
        "symbol, per timeframe (features/ of the home or of TRADEFORGE_DATA_URL's bucket, DuckDB view "
        "`features`). Training and the "
        "reports read these tables; the data version is the hash of their files.",
    )
    def features(
        context: dg.AssetExecutionContext, tradeforge: TradeforgeResource
    ) -> dg.MaterializeResult[None]:
        settings = tradeforge.settings
        item = universe_item(settings, context.partition_key)
        builds = {
            tf.name: build_features(settings, source=item.source, symbol=item.symbol.name, timeframe=tf.name)
            for tf in item.timeframes
        }
        versions = {tf: b.version.content_hash for tf, b in builds.items()}
        return dg.MaterializeResult(
            metadata={
                "rows": {tf: b.rows for tf, b in builds.items()},
                "feature_count": len(next(iter(builds.values())).feature_columns),
                "paths": {tf: str(b.path) for tf, b in builds.items()},
                "seconds": round(sum(b.seconds for b in builds.values()), 3),
                "data_versions": versions,
                "last_bars": {tf: b.version.last_bar_iso for tf, b in builds.items()},
            },
            data_version=dg.DataVersion(combine_hashes(versions)),
        )

    return features


def build_market_assets(settings: Settings, items: list[UniverseItem]) -> list[dg.AssetsDefinition]:
    """``market_bars`` (symbol x year) and ``features`` (symbol), which depends on all its years."""
    market_bars = _market_bars_asset(settings, items)
    return [market_bars, _features_asset(items, market_bars)]
