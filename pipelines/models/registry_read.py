"""The registered models of a home, read without MLflow when its store is a local SQLite file.

Importing MLflow and opening its store takes seconds (its modules, then a check of the schema's
migrations), while listing the models or checking that a name is registered needs a few rows. A
local ``sqlite:///`` store is read directly, read-only, the way MLflow's own search reads it (the
default workspace, prompts left out, deleted versions left out); a store that is absent holds no
models and is not created. Any other store (a tracking server, PostgreSQL), or a SQLite file whose
tables are not as expected, is asked through MLflow.
"""

from __future__ import annotations

import math
import sqlite3
from collections import defaultdict
from pathlib import Path
from urllib.parse import quote

from pipelines.models.tracking import RegisteredVersion, open_tracker
from pipelines.settings import Settings

__all__ = ["read_sqlite_registry", "registered_models"]

_PROMPT_TAG = "mlflow.prompt.is_prompt"
_DELETED_STAGE = "Deleted_Internal"
_DEFAULT_WORKSPACE = "default"

Listing = list[tuple[str, list[RegisteredVersion]]]


def _scope(con: sqlite3.Connection, table: str) -> str:
    """The workspace filter of ``table``: MLflow's default workspace where the schema has them."""
    columns = {row[1] for row in con.execute(f"PRAGMA table_info({table})")}
    if not columns:
        raise sqlite3.OperationalError(f"no table {table}")
    return f"workspace = '{_DEFAULT_WORKSPACE}'" if "workspace" in columns else "1 = 1"


def _metrics(con: sqlite3.Connection, run_ids: set[str]) -> dict[str, dict[str, float]]:
    found: dict[str, dict[str, float]] = defaultdict(dict)
    ids = sorted(run_ids)
    for i in range(0, len(ids), 500):
        chunk = ids[i : i + 500]
        marks = ",".join("?" * len(chunk))
        rows = con.execute(
            f"SELECT run_uuid, key, value, is_nan FROM latest_metrics WHERE run_uuid IN ({marks})", chunk
        )
        for run_id, key, value, is_nan in rows:
            found[run_id][key] = math.nan if is_nan else float(value)
    return found


def _read(con: sqlite3.Connection) -> Listing:
    models, versions = _scope(con, "registered_models"), _scope(con, "model_versions")
    model_tags, version_tags = _scope(con, "registered_model_tags"), _scope(con, "model_version_tags")
    names = [
        str(name)
        for (name,) in con.execute(
            f"SELECT name FROM registered_models WHERE {models} AND name NOT IN "
            f"(SELECT name FROM registered_model_tags WHERE {model_tags} AND key = ? "
            "AND lower(value) = 'true')",
            [_PROMPT_TAG],
        )
    ]
    tags: dict[tuple[str, str], dict[str, str]] = defaultdict(dict)
    for name, version, key, value in con.execute(
        f"SELECT name, version, key, value FROM model_version_tags WHERE {version_tags}"
    ):
        tags[(name, str(version))][key] = value
    aliases: dict[tuple[str, str], list[str]] = defaultdict(list)
    scope = _scope(con, "registered_model_aliases")
    for name, alias, version in con.execute(
        f"SELECT name, alias, version FROM registered_model_aliases WHERE {scope}"
    ):
        aliases[(name, str(version))].append(alias)
    rows = con.execute(
        f"SELECT name, version, run_id, source, creation_time FROM model_versions "
        f"WHERE {versions} AND current_stage != ?",
        [_DELETED_STAGE],
    ).fetchall()
    metrics = _metrics(con, {str(run_id) for *_, run_id, _, _ in rows if run_id})
    by_model: dict[str, list[RegisteredVersion]] = {name: [] for name in names}
    for name, version, run_id, source, created in rows:
        if name in by_model:
            key = (name, str(version))
            by_model[name].append(
                RegisteredVersion(
                    name=name,
                    version=str(version),
                    run_id=run_id or "",
                    source=source or "",
                    aliases=tuple(sorted(aliases.get(key, []))),
                    tags=tags.get(key, {}),
                    metrics=dict(metrics.get(run_id, {})) if run_id else {},
                    created_ms=int(created or 0),
                )
            )
    return sorted((name, sorted(found, key=lambda v: int(v.version))) for name, found in by_model.items())


def read_sqlite_registry(uri: str) -> Listing | None:
    """Every registered model of the SQLite store ``uri`` with its versions, oldest first; empty
    when the file does not exist (nothing is created). None when ``uri`` is not a local SQLite
    store or its tables cannot be read this way: then only MLflow can answer."""
    if not uri.startswith("sqlite:///"):
        return None
    path = Path(uri.removeprefix("sqlite:///"))
    if not path.is_file() or path.stat().st_size == 0:
        return []
    try:
        con = sqlite3.connect(f"file:{quote(str(path.absolute()))}?mode=ro", uri=True)
    except sqlite3.Error:
        return None
    try:
        return _read(con)
    except sqlite3.Error:
        return None
    finally:
        con.close()


def registered_models(settings: Settings) -> Listing:
    """The registered models of ``settings``' registry and their versions (``Tracker.list_models``'
    answer), read without MLflow when the store is a local SQLite file."""
    found = read_sqlite_registry(settings.resolved_mlflow_uri())
    if found is not None:
        return found
    return open_tracker(settings).list_models()
