"""Dataset commands: ``tradeforge datasets list``, ``show`` and ``delete`` (the catalogue of uploads).

The CLI is the machine's operator: it sees every user's datasets. Uploads go through the API
(``POST /datasets/upload``), whose job queue processes them.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

import typer
from rich.table import Table

from pipelines.cli._common import JsonOpt, SwitchGroup, app, emit_json, errors, note_empty_home, out
from pipelines.settings import get_settings

__all__ = ["datasets_app"]

datasets_app = typer.Typer(
    cls=SwitchGroup, no_args_is_help=True, help="Datasets uploaded through the API (/datasets)."
)
app.add_typer(datasets_app, name="datasets")


@contextmanager
def _catalog() -> Iterator[Any]:
    # Imported on use, for the CLI's start-up time: SQLAlchemy.
    from pipelines.app.datasets import DatasetCatalog
    from pipelines.app.jobs import default_tasks
    from pipelines.db.engine import open_database
    from pipelines.jobs import JobQueue

    settings = get_settings()
    database = open_database(settings)
    # Not started: this process never runs jobs; cancelling one asks the server's scheduler.
    queue = JobQueue(settings, database, default_tasks())
    try:
        yield DatasetCatalog(settings, database, queue)
    finally:
        queue.close()
        database.close()


@datasets_app.command("list")
def datasets_list(
    dataset_type: Annotated[
        str | None, typer.Option("--type", help="classification | regression | ohlcv | image")
    ] = None,
    status: Annotated[str | None, typer.Option(help="processing | ready | failed")] = None,
    sort_by: Annotated[str, typer.Option("--sort-by", help="name | created_at | size")] = "created_at",
    order: Annotated[str, typer.Option(help="asc | desc")] = "desc",
    page: Annotated[int, typer.Option(help="Page number, from 1")] = 1,
    limit: Annotated[int, typer.Option(help="Datasets per page (1-100)")] = 20,
    as_json: JsonOpt = False,
) -> None:
    """Every user's datasets, a page at a time, with their processing status."""
    settings = get_settings()
    if settings.database_url is None and not settings.home.is_dir():  # nothing to read, nothing created
        body: dict[str, Any] = {"total": 0, "page": page, "limit": limit, "pages": 0, "datasets": []}
    else:
        with errors(), _catalog() as catalog:
            listing = catalog.list(
                None,
                page=page,
                limit=limit,
                sort_by=sort_by,
                order=order,
                dataset_type=dataset_type,
                status=status,
            )
        body = listing.as_dict()
    if not body["total"]:
        note_empty_home(settings, "uploaded datasets")
    if as_json:
        emit_json(body)
        return
    table = Table(title=f"datasets (page {body['page']} of {max(body['pages'], 1)}, {body['total']} in all)")
    for column in ("id", "name", "type", "status", "MB", "file", "uploaded"):
        table.add_column(column)
    for row in body["datasets"]:
        table.add_row(
            row["id"],
            row["name"],
            row["dataset_type"],
            row["status"],
            f"{row['file_size'] / 1e6:.2f}",
            row["file_name"],
            row["uploaded_at"][:19].replace("T", " "),
        )
    out.print(table)


@datasets_app.command("show")
def datasets_show(
    dataset_id: Annotated[str, typer.Argument(help="The dataset's id")], as_json: JsonOpt = False
) -> None:
    """One dataset: its status (and why it failed) and, once ready, its metadata."""
    # Imported on use, for the CLI's start-up time: SQLAlchemy.
    from pipelines.app.datasets import OPERATOR

    with errors(), _catalog() as catalog:
        body = catalog.get(dataset_id, OPERATOR).as_dict()
        body["data_path"] = str(catalog.files.data_path(dataset_id)) if body["status"] == "ready" else None
    if as_json:
        emit_json(body)
        return
    out.print(f"[bold]{body['name']}[/] ({body['dataset_type']}): {body['status']}", highlight=False)
    out.print(
        f"file {body['file_name']}, {body['file_size']:,} bytes, sha256 {body['sha256']}", highlight=False
    )
    if body.get("error"):
        out.print(f"[red]error:[/] {body['error']}", highlight=False)
    meta = body.get("metadata") or {}
    if meta:
        out.print(f"{meta['rows']:,} rows, {meta['columns']} columns; target: {meta.get('target')}")
        out.print(f"features: {', '.join(meta['features'])}", highlight=False)
        if meta.get("timeframe"):
            symbol = meta.get("symbol") or "no symbol"
            out.print(
                f"bars: {symbol} {meta['timeframe']}, {meta['start']} .. {meta['end']}", highlight=False
            )
        out.print(f"stored at {body['data_path']}", highlight=False)


@datasets_app.command("delete")
def datasets_delete(dataset_id: Annotated[str, typer.Argument(help="The dataset's id")]) -> None:
    """Delete a dataset and its files (processing under way is cancelled)."""
    # Imported on use, for the CLI's start-up time: SQLAlchemy.
    from pipelines.app.datasets import OPERATOR

    with errors(), _catalog() as catalog:
        name = catalog.get(dataset_id, OPERATOR).record.name
        catalog.delete(dataset_id, OPERATOR)
    out.print(f"deleted dataset {name!r} ({dataset_id})", highlight=False)
