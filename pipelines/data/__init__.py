"""Market data: providers, the canonical bar schema, the Parquet store, the DuckDB catalog,
quality rules and incremental ingest."""
