"""What ``tradeforge query`` accepts: exactly one statement that only reads, by DuckDB's own parser.

This is the first of two guards; the second is the connection itself (read-only, file access
limited to the market and feature folders, configuration locked: see ``Warehouse.query_readonly``).
"""

from __future__ import annotations

import re

import duckdb

from pipelines.errors import InvalidRequestError

__all__ = ["read_statement"]

# EXPLAIN ANALYZE runs the statement it explains: that one must be a read as well.
_EXPLAIN = re.compile(r"^\s*explain\s+(analy[sz]e\s+)?", re.IGNORECASE)
_READS = {duckdb.StatementType.SELECT}


def read_statement(sql: str) -> str:
    """``sql``'s single statement, or ``InvalidRequestError`` saying why it is refused."""
    try:
        statements = duckdb.extract_statements(sql)
    except duckdb.Error as exc:
        raise InvalidRequestError(f"query: cannot parse the SQL: {exc}") from None
    if len(statements) != 1:
        raise InvalidRequestError(
            f"query: exactly one statement is accepted, got {len(statements)} (no ';'-separated lists)"
        )
    statement = statements[0]
    kind = statement.type
    if kind == duckdb.StatementType.EXPLAIN:
        inner = _EXPLAIN.sub("", statement.query, count=1)
        if inner == statement.query:
            raise InvalidRequestError("query: only EXPLAIN <SELECT ...> is accepted")
        read_statement(inner)
        return statement.query
    if kind not in _READS:
        raise InvalidRequestError(
            f"query: only reads are accepted (SELECT, WITH, FROM, VALUES, DESCRIBE, SHOW, SUMMARIZE, "
            f"EXPLAIN); this statement is {kind.name}"
        )
    return statement.query
