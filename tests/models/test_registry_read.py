"""The registry read straight from MLflow's SQLite store answers what MLflow's client answers."""

from __future__ import annotations

import math
import sqlite3
from pathlib import Path

from pipelines.models.registry_read import read_sqlite_registry, registered_models
from pipelines.models.tracking import MlflowTracker
from pipelines.settings import Settings


def _version(tracker: MlflowTracker, name: str, metrics: dict[str, float], tags: dict[str, str]) -> str:
    with tracker.run("registry-read", name, {}) as run:
        run.log_metrics(metrics)
    return tracker.register(name, f"file:///models/{name}/{run.run_id}", run.run_id, tags)


def test_the_sqlite_read_matches_mlflow(tracker: MlflowTracker) -> None:
    _version(tracker, "beta", {"val_ic": 0.1}, {"tradeforge.kind": "lightgbm"})
    second = _version(tracker, "beta", {"val_ic": 0.2, "val_rmse": 1.5}, {"tradeforge.kind": "lightgbm"})
    _version(tracker, "beta", {"val_ic": 0.3}, {"tradeforge.kind": "lightgbm", "tradeforge.device": "cpu"})
    tracker.set_alias("beta", "champion", second)
    tracker.set_alias("beta", "candidate", second)
    tracker.client.delete_model_version("beta", "3")
    _version(tracker, "alpha", {"val_ic": 0.05}, {"tradeforge.symbol": "AAPL"})
    tracker.client.create_registered_model("empty")
    with tracker.run("registry-read", "nan", {}) as run:  # a NaN metric is not logged
        run.log_metrics({"val_ic": math.nan, "val_r2": 0.4})
    tracker.register("gamma", "file:///models/gamma", run.run_id, {})

    read = read_sqlite_registry(tracker.uri)
    assert read is not None
    assert read == tracker.list_models()
    assert [name for name, _ in read] == ["alpha", "beta", "empty", "gamma"]
    beta = dict(read)["beta"]
    assert [v.version for v in beta] == ["1", "2"]
    assert beta[1].aliases == ("candidate", "champion")
    assert beta[1].metrics == {"val_ic": 0.2, "val_rmse": 1.5}


def test_a_store_that_does_not_exist_holds_no_models_and_is_not_created(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path / "home")
    assert registered_models(settings) == []
    assert not (tmp_path / "home").exists()


def test_other_stores_are_left_to_mlflow(tmp_path: Path) -> None:
    assert read_sqlite_registry("http://127.0.0.1:5000") is None
    other = tmp_path / "other.db"
    with sqlite3.connect(other) as con:
        con.execute("CREATE TABLE unrelated (x INTEGER)")
    assert read_sqlite_registry(f"sqlite:///{other}") is None
