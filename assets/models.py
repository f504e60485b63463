"""Asset ``trained_models`` (one partition per model spec), its checks, the nightly schedule and
the data-growth sensor. Training itself is the training use case,
:func:`pipelines.app.train.train_model`.

The asset trains on the materialized ``features`` partition of its spec's symbol as it is stored
(never ingesting, never recomputing from other bars); when that partition was not materialized it
fails and says so. The MLflow run and the materialization carry the table's data version."""

import json
from collections.abc import Iterator

import dagster as dg
import pandas as pd

from assets.resources import TrackerResource, TradeforgeResource
from assets.schedules import schedule_status, sensor_status
from pipelines.app.train import TrainRequest, TrainResult, plan_training, train_model
from pipelines.data.ingest import open_store
from pipelines.data.store import SeriesKey
from pipelines.data.universe import UniverseItem
from pipelines.errors import DataNotFoundError, InvalidRequestError
from pipelines.models.specs import ModelSpec
from pipelines.settings import Settings

TRAIN_JOB = "train_models"


def spec_partitions(specs: list[ModelSpec]) -> dg.StaticPartitionsDefinition:
    return dg.StaticPartitionsDefinition([s.key for s in specs])


def _features_mapping(specs: list[ModelSpec], items: list[UniverseItem]) -> dict[str, set[str]]:
    """features partition (universe symbol) -> the spec partitions that train on it."""
    universe = {i.symbol.name: i.key for i in items}
    mapping: dict[str, set[str]] = {}
    for spec in specs:
        if spec.symbol in universe:
            mapping.setdefault(universe[spec.symbol], set()).add(spec.key)
    return mapping


def _plan(settings: Settings, spec: ModelSpec) -> TrainRequest:
    """The spec's training request over its lookback to now; a bad spec fails without retries."""
    now = pd.Timestamp.now(tz="UTC")
    try:
        return plan_training(
            settings,
            model_type=spec.kind.value,
            model_name=spec.model_name,
            symbol=spec.symbol,
            timeframe=spec.timeframe,
            source=spec.source,
            start=now - pd.Timedelta(days=spec.lookback_days),
            end=now,
            params=spec.params,
            validation_split=spec.validation_split,
            horizon=spec.horizon,
            feature_set=spec.feature_set,
        )
    except InvalidRequestError as exc:
        raise dg.Failure(description=str(exc), allow_retries=False) from exc


def _trained_result(result: TrainResult) -> dg.MaterializeResult:  # type: ignore[type-arg]
    val = {k: v for k, v in result.metrics.items() if k.startswith("val_")}
    finite = all(v == v for v in val.values())
    accuracy = result.metrics.get("val_directional_accuracy", float("nan"))
    version = result.data_version
    return dg.MaterializeResult(
        metadata={
            "model_name": result.model_name,
            "version": result.version,
            "run_id": result.run_id,
            "champion": result.champion,
            "decision": result.decision,
            **({"champion_comparison": result.comparison} if result.comparison else {}),
            "device": result.device,
            "seconds": round(result.seconds, 2),
            "data_range": result.data_range,
            **(
                {"data_version": version.content_hash, "data_last_bar": version.last_bar_iso}
                if version
                else {}
            ),
            **{k: float(v) for k, v in val.items()},
        },
        check_results=[
            dg.AssetCheckResult(check_name="validation_metrics_finite", passed=finite, metadata=val),
            dg.AssetCheckResult(
                check_name="directional_accuracy_above_chance",
                passed=bool(accuracy > 0.5),
                severity=dg.AssetCheckSeverity.WARN,
                metadata={"val_directional_accuracy": accuracy},
            ),
        ],
    )


def build_model_assets(
    specs: list[ModelSpec],
    items: list[UniverseItem],
    features: dg.AssetsDefinition,
    op_tags: dict[str, str] | None = None,
) -> dg.AssetsDefinition:
    """``trained_models`` in the ``gpu`` pool; ``op_tags`` (the GPU queue's, under the Celery executor)
    go on its step."""
    by_key = {s.key: s for s in specs}
    mapping = _features_mapping(specs, items)

    @dg.asset(
        partitions_def=spec_partitions(specs),
        group_name="models",
        kinds={"mlflow", "lightgbm", "xgboost", "pytorch"},
        pool="gpu",
        op_tags=op_tags,
        deps=[dg.AssetDep(features, partition_mapping=dg.StaticPartitionMapping(mapping))] if mapping else [],
        check_specs=[
            dg.AssetCheckSpec("validation_metrics_finite", asset="trained_models"),
            dg.AssetCheckSpec(
                "directional_accuracy_above_chance",
                asset="trained_models",
                description="Warns when the new version's validation directional accuracy is 50% or less.",
            ),
        ],
        description="Trains the spec's model kind on the materialized `features` partition of its symbol "
        "and timeframe, logs the run (with the data version it read) to MLflow, registers a version and "
        "moves the `champion` alias when the new version wins.",
    )
    # Bare ``MaterializeResult``: a subscripted one reads as a single output, and the checks add more.
    def trained_models(
        context: dg.AssetExecutionContext, tradeforge: TradeforgeResource, tracker: TrackerResource
    ) -> dg.MaterializeResult:  # type: ignore[type-arg]
        settings = tradeforge.settings
        spec = by_key[context.partition_key]
        request = _plan(settings, spec)
        try:
            table = tradeforge.feature_table(source=spec.source, symbol=spec.symbol, timeframe=spec.timeframe)
            result = train_model(settings, request, tracker.open(), table=table)
        except DataNotFoundError as exc:  # nothing to train on until the upstream asset runs
            raise dg.Failure(description=str(exc), allow_retries=False) from exc
        context.log.info(result.decision)
        return _trained_result(result)

    return trained_models


def nightly_retrain(specs: list[ModelSpec], *, running: bool = True) -> dg.ScheduleDefinition:
    """02:00 UTC every day: every spec; the `gpu` pool runs their training one at a time."""

    @dg.schedule(
        name="nightly_retrain",
        cron_schedule="0 2 * * *",
        job_name=TRAIN_JOB,
        execution_timezone="UTC",
        default_status=schedule_status(running),
    )
    def _nightly(context: dg.ScheduleEvaluationContext) -> Iterator[dg.RunRequest]:
        day = context.scheduled_execution_time.date().isoformat()
        for spec in specs:
            yield dg.RunRequest(run_key=f"{spec.key}:{day}", partition_key=spec.key)

    return _nightly


def data_growth_sensor(specs: list[ModelSpec], settings: Settings) -> dg.SensorDefinition:
    """Asks for retraining when a spec's stored bars grew by its ``retrain_growth`` since the last
    request. The cursor remembers the row count each spec was last trained for."""

    @dg.sensor(
        name="retrain_on_data_growth",
        job_name=TRAIN_JOB,
        minimum_interval_seconds=600,
        default_status=sensor_status(settings.jobs.automations_running),
    )
    def _sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult:
        seen: dict[str, int] = json.loads(context.cursor) if context.cursor else {}
        store = open_store(settings)
        requests = []
        for spec in specs:
            bounds = store.bounds(SeriesKey(spec.source, spec.timeframe, spec.symbol))
            rows = bounds.rows if bounds else 0
            last = seen.get(spec.key)
            if last is None:
                seen[spec.key] = rows  # first sight: the nightly schedule covers the initial training
            elif rows >= last * (1 + spec.retrain_growth) and rows > last:
                requests.append(dg.RunRequest(run_key=f"{spec.key}:{rows}", partition_key=spec.key))
                seen[spec.key] = rows
        return dg.SensorResult(run_requests=requests, cursor=json.dumps(seen, sort_keys=True))

    return _sensor
