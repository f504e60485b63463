"""The home's MLflow SQLite store is created once even when several processes open it at once."""

from __future__ import annotations

import multiprocessing as mp
import sqlite3
import time
from pathlib import Path

from pipelines.settings import Settings


def _open_at(home: str, start: float, results: mp.Queue[str]) -> None:
    from pipelines.models.tracking import open_tracker

    settings = Settings(home=Path(home), mlflow_tracking_uri=None)
    time.sleep(max(0.0, start - time.time()))  # every process opens at the same instant
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
    start = time.time() + 8.0  # after the spawned interpreters have imported everything
    procs = [ctx.Process(target=_open_at, args=(str(home), start, results)) for _ in range(4)]
    for proc in procs:
        proc.start()
    outcomes = [results.get(timeout=120) for _ in procs]
    for proc in procs:
        proc.join(30)
    assert outcomes == ["ok"] * 4
    with sqlite3.connect(home / "mlflow" / "mlflow.db") as db:
        tables = {name for (name,) in db.execute("select name from sqlite_master where type = 'table'")}
    assert {"experiments", "runs", "registered_models", "model_versions"} <= tables
