"""``tradeforge query`` runs one read statement and nothing else: no file written, no key read."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from pipelines.cli import app
from pipelines.security import resolve_secret_key
from pipelines.settings import get_settings

runner = CliRunner()


@pytest.fixture
def home_with_bars(env_home: Path) -> Path:
    args = ["--symbols", "AAPL", "--timeframe", "1d", "--start", "2024-01-01", "--end", "2024-02-01"]
    result = runner.invoke(app, ["ingest", *args])
    assert result.exit_code == 0, result.output
    resolve_secret_key(get_settings())  # the generated JWT key, as `tradeforge serve` makes it
    return env_home


def _query(sql: str) -> tuple[int, str]:
    result = runner.invoke(app, ["query", sql])
    return result.exit_code, result.stdout + result.stderr


def test_a_select_over_bars_still_works(home_with_bars: Path) -> None:
    code, out = _query("SELECT symbol, count(*) AS n FROM bars GROUP BY symbol")
    assert code == 0, out
    assert "AAPL" in out and "21" in out
    code, out = _query("WITH b AS (SELECT close FROM bars) SELECT max(close) > 0 AS ok FROM b")
    assert code == 0 and "True" in out
    assert _query("DESCRIBE bars")[0] == 0
    assert _query("EXPLAIN SELECT * FROM bars")[0] == 0


@pytest.mark.parametrize(
    ("template", "why"),
    [
        ("COPY (SELECT 42 AS x) TO '{out}'", "COPY"),
        ("COPY (SELECT 42 AS x) TO '{market}/out.csv'", "COPY"),
        ("EXPORT DATABASE '{outdir}'", "EXPORT"),
        ("ATTACH '{out}.duckdb' AS other", "ATTACH"),
        ("INSTALL httpfs", "LOAD"),
        ("LOAD httpfs", "LOAD"),
        ("SELECT 1; SELECT 2", "exactly one statement"),
        ("PRAGMA database_list", "PRAGMA"),
        ("SET enable_external_access = true", "SET"),
        ("CREATE TABLE t AS SELECT 1", "CREATE"),
        ("EXPLAIN ANALYZE COPY (SELECT 1) TO '{out}'", "COPY"),
        ("SELECT * FROM read_text('{key}')", "disabled"),
        ("SELECT * FROM read_csv('{key}', header = false)", "disabled"),
        ("SELECT * FROM read_text('{market}/../secrets/secret_key')", "disabled"),
        ("SELECT * FROM read_text('{legacy}')", "disabled"),
    ],
)
def test_anything_but_one_read_exits_2_and_writes_nothing(
    home_with_bars: Path, tmp_path: Path, template: str, why: str
) -> None:
    settings = get_settings()
    out_file = tmp_path / "out.csv"
    sql = template.format(
        out=out_file,
        outdir=tmp_path / "export",
        market=settings.market_dir.resolve(),
        key=settings.secret_key_path.resolve(),
        legacy=settings.home.resolve() / "secret_key",
    )
    before = sorted(p for p in tmp_path.rglob("*") if p.is_file())
    code, out = _query(sql)
    assert code == 2, out
    assert why in out
    assert settings.secret_key_path.read_text().strip() not in out
    assert sorted(p for p in tmp_path.rglob("*") if p.is_file()) == before  # nothing written anywhere
