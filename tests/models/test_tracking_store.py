"""The home's MLflow SQLite store is created once even when several processes open it at once."""

from __future__ import annotations

import importlib
import multiprocessing as mp
import sqlite3
from pathlib import Path
from typing import Any

from pipelines.settings import Settings


def _open_at(home: str, ready: Any, results: mp.Queue[str]) -> None:
    from pipelines.models.tracking import open_tracker

    settings = Settings(home=Path(home), mlflow_tracking_uri=None)
    importlib.import_module("mlflow.store.tracking.sqlalchemy_store")  # the store's code, imported
    ready.wait(timeout=120)  # every process opens at the same instant, once all have imported
    try:
        open_tracker(settings).client.search_registered_models(max_results=1)
        results.put("ok")
    except Exception as exc:  # reported to the test, which shows it
        results.put(f"{type(exc).__name__}: {exc}")


def test_processes_opening_a_fresh_store_at_once_all_succeed(tmp_path: Path) -> None:
    """Without the lock MLflow's migrations collide ("duplicate column name: step")."""
    home = tmp_path / "home"
    ctx = mp.get_context("spawn")
    results: mp.Queue[str] = ctx.Queue()
    ready = ctx.Barrier(4)
    procs = [ctx.Process(target=_open_at, args=(str(home), ready, results)) for _ in range(4)]
    for proc in procs:
        proc.start()
    outcomes = [results.get(timeout=120) for _ in procs]
    for proc in procs:
        proc.join(30)
    assert outcomes == ["ok"] * 4
    with sqlite3.connect(home / "mlflow" / "mlflow.db") as db:
        tables = {name for (name,) in db.execute("select name from sqlite_master where type = 'table'")}
    assert {"experiments", "runs", "registered_models", "model_versions"} <= tables
