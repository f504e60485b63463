"""The warehouse's views over Parquet objects in S3-compatible storage, for one DuckDB connection.

Each view scans a ``pyarrow.dataset`` of the objects listed at connection time (DuckDB pushes the
query's filters and projected columns down into the scan, so a query of one symbol reads only the
row groups its statistics allow). See :mod:`pipelines.data.warehouse` for why not DuckDB's httpfs.
"""

from __future__ import annotations

from collections.abc import Mapping

import duckdb
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from pipelines.data.storage import DataStorage

__all__ = ["remote_views", "view_dataset"]

# view -> (the folder under the data root, the name of its files, whether their columns differ)
_LAYOUT = {"bars": ("market", "data.parquet", False), "features": ("features", "features.parquet", True)}


def view_dataset(storage: DataStorage, view: str) -> ds.Dataset | None:
    """The dataset of every file of ``view`` (None while there is none).

    Bar files share one schema, so the first file's is used; feature tables differ by feature set,
    so theirs are unified by name (a column a table lacks reads as null), as ``union_by_name`` does
    for the files on disk. Label columns are stored dictionary-encoded and read as plain strings."""
    folder, name, differ = _LAYOUT[view]
    files = sorted(
        p for p in storage.files_under(storage.join(storage.root, folder)) if p.endswith(f"/{name}")
    )
    if not files:
        return None
    schemas = [pq.read_schema(p, filesystem=storage.filesystem) for p in (files if differ else files[:1])]
    unified = pa.unify_schemas(schemas, promote_options="permissive")
    plain = pa.schema(
        [pa.field(f.name, f.type.value_type) if pa.types.is_dictionary(f.type) else f for f in unified]
    )
    return ds.dataset(files, schema=plain, format="parquet", filesystem=storage.filesystem)


def remote_views(con: duckdb.DuckDBPyConnection, storage: DataStorage, empty: Mapping[str, str]) -> None:
    """Define temporary views named as ``empty``'s keys on ``con``: each over its dataset, or as
    ``empty[view]`` (a query of the right columns and no rows) while no file exists."""
    for view, none in empty.items():
        dataset = view_dataset(storage, view)
        if dataset is None:
            con.execute(f"CREATE OR REPLACE TEMP VIEW {view} AS {none}")
            continue
        con.register(f"_{view}_objects", dataset)
        con.execute(f"CREATE OR REPLACE TEMP VIEW {view} AS SELECT * FROM _{view}_objects")
