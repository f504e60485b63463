"""Training end to end on a real MLflow store: logging, registration, champion, loading."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pipelines.app.train import plan_training, train_model
from pipelines.errors import InvalidRequestError
from pipelines.models.registry import ModelRegistry
from pipelines.models.summaries import list_models
from pipelines.models.tracking import MlflowTracker
from pipelines.settings import Settings

FAST = {"n_estimators": 40, "num_leaves": 15}


def request(settings: Settings, **overrides: object):
    args: dict[str, object] = {
        "model_type": "lightgbm",
        "model_name": "lgbm_aapl",
        "symbol": "AAPL",
        "timeframe": "1d",
        "source": "synthetic",
        "start": "2019-01-01",
        "end": "2024-01-01",
        "params": FAST,
    }
    args.update(overrides)
    return plan_training(settings, **args)  # type: ignore[arg-type]


def test_train_logs_registers_and_promotes(settings: Settings, tracker: MlflowTracker) -> None:
    result = train_model(settings, request(settings), tracker)
    assert (result.model_name, result.version, result.champion, result.device) == (
        "lgbm_aapl",
        "1",
        True,
        "cpu",
    )
    assert result.decision == "first version: promoted to champion"
    for key in (
        "train_r2",
        "val_r2",
        "train_mae",
        "val_mae",
        "val_rmse",
        "val_ic",
        "val_directional_accuracy",
    ):
        assert np.isfinite(result.metrics[key]), key
    assert result.data_range["train_start"].startswith("2019")
    run = tracker.client.get_run(result.run_id)
    params = run.data.params
    assert params["model_type"] == "lightgbm" and params["n_estimators"] == "40"
    assert params["source"] == "synthetic" and params["device"] == "cpu" and params["symbol"] == "AAPL"
    assert int(params["n_features"]) > 60 and "data_train_start" in params
    assert run.data.tags["tradeforge.champion_decision"].startswith("first version")
    assert run.data.metrics["promoted"] == 1.0 and run.data.metrics["training_seconds"] > 0
    artifacts = {a.path for a in tracker.client.list_artifacts(result.run_id)}
    assert {"features.json", "feature_importance.png", "model"} <= artifacts
    model_files = {a.path for a in tracker.client.list_artifacts(result.run_id, "model")}
    assert "model/MLmodel" in model_files and "model/input_example.json" in model_files
    (summary,) = list_models(tracker)
    assert (summary.name, summary.champion_version, summary.kind, summary.device) == (
        "lgbm_aapl",
        "1",
        "lightgbm",
        "cpu",
    )


def test_champion_moves_only_when_beaten(settings: Settings, tracker: MlflowTracker) -> None:
    first = train_model(settings, request(settings), tracker)
    same = train_model(settings, request(settings), tracker)  # identical seed and data: a tie does not win
    assert same.version == "2" and not same.champion
    assert "champion stays version 1" in same.decision and "candidate's validation window" in same.decision
    assert tracker.alias_version("lgbm_aapl", "champion").version == first.version  # type: ignore[union-attr]
    run = tracker.client.get_run(same.run_id)
    assert run.data.metrics["promoted"] == 0.0
    scores = [run.data.metrics[f"champion_compare_{who}_ic"] for who in ("candidate", "champion")]
    assert scores == pytest.approx([same.metrics["val_ic"]] * 2)  # its own window, both the same model
    assert run.data.metrics["champion_compare_rows"] == float(same.data_range["val_rows"])


def test_registered_version_is_a_real_mlflow_model(
    settings: Settings, tracker: MlflowTracker, tmp_path: Path
) -> None:
    import mlflow.pyfunc

    result = train_model(settings, request(settings), tracker)
    registry = ModelRegistry(tracker, tmp_path / "cache")
    loaded = registry.load("lgbm_aapl")
    assert loaded.version == result.version and loaded.meta.symbol == "AAPL" and loaded.meta.scale > 0
    assert registry.load("lgbm_aapl") is loaded, "second load comes from the cache"
    folder = tracker.download(tracker.get_version("lgbm_aapl", "1").source, tmp_path / "raw")
    pyfunc = mlflow.pyfunc.load_model(str(folder))
    example = pd.DataFrame(
        json.loads((folder / "input_example.json").read_text())["data"], columns=loaded.meta.feature_names
    )
    via_mlflow = pyfunc.predict(example)["predicted_return"].to_numpy()
    np.testing.assert_allclose(via_mlflow, loaded.model.predict(example.to_numpy(dtype=np.float64)))


def test_registry_reload_follows_a_new_champion(
    settings: Settings, tracker: MlflowTracker, tmp_path: Path
) -> None:
    train_model(settings, request(settings), tracker)
    registry = ModelRegistry(tracker, tmp_path / "cache")
    assert registry.load("lgbm_aapl").version == "1"
    train_model(settings, request(settings, params={"n_estimators": 80, "num_leaves": 7}), tracker)
    tracker.set_alias("lgbm_aapl", "champion", "2")
    assert registry.load("lgbm_aapl").version == "1", "cached until reload"
    registry.reload("lgbm_aapl")
    assert registry.load("lgbm_aapl").version == "2"
    assert registry.load("lgbm_aapl", "1").version == "1"


def test_ensemble_of_registered_models(settings: Settings, tracker: MlflowTracker, tmp_path: Path) -> None:
    train_model(settings, request(settings), tracker)
    train_model(
        settings,
        request(
            settings, model_type="xgboost", model_name="xgb_aapl", params={"n_estimators": 40, "max_depth": 3}
        ),
        tracker,
    )
    members = [
        {"model_name": "lgbm_aapl", "version": "champion", "weight": 3},
        {"model_name": "xgb_aapl", "version": 1, "weight": 1},
    ]
    result = train_model(
        settings,
        request(settings, model_type="ensemble", model_name="ens_aapl", params={"members": members}),
        tracker,
    )
    assert result.champion and result.kind == "ensemble"
    registry = ModelRegistry(tracker, tmp_path / "cache")
    ens = registry.load("ens_aapl").model
    x = np.random.default_rng(0).normal(size=(5, len(registry.load("ens_aapl").meta.feature_names)))
    expected = 0.75 * registry.load("lgbm_aapl").model.predict(x) + 0.25 * registry.load(
        "xgb_aapl", "1"
    ).model.predict(x)
    np.testing.assert_allclose(ens.predict(x), expected, rtol=1e-9)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"model_type": "deep_forest"}, "unknown model_type 'deep_forest'"),
        ({"params": {"n_estimatorz": 5}}, "n_estimatorz"),
        ({"params": {"learning_rate": -1}}, "learning_rate"),
        ({"validation_split": 0.95}, "validation_split"),
        ({"model_name": "bad name!"}, "model_name"),
        ({"start": "2024-01-01", "end": "2023-01-01"}, "must be before end"),
        ({"symbol": "AA PL"}, "malformed symbol"),
        ({"timeframe": "7m"}, "unknown timeframe"),
    ],
)
def test_bad_requests_register_nothing(
    settings: Settings, tracker: MlflowTracker, overrides: dict[str, object], message: str
) -> None:
    with pytest.raises(InvalidRequestError, match=message):
        request(settings, **overrides)
    assert tracker.list_models() == []
    assert not settings.market_dir.exists()


def test_progress_hears_every_stage_in_order(settings: Settings, tracker: MlflowTracker) -> None:
    heard: list[tuple[float, str]] = []
    train_model(settings, request(settings), tracker, progress=lambda pct, text: heard.append((pct, text)))
    percents = [pct for pct, _ in heard]
    assert percents == sorted(percents) and percents[0] <= 5.0 and len(percents) >= 5
    assert "loading" in heard[0][1]
    assert any("fitting" in text for _, text in heard) and any("registering" in text for _, text in heard)
