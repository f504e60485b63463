"""Market-data route (``GET /api/market/data``), run by ``make bench``.

A fresh home holds ``--candles`` stored 1-minute candles of BTC/USDT (synthetic, seed 42; one year
file). The real app (``create_app`` under Litestar's test client: the whole request pipeline, request
id, bearer authentication of an enterprise-tier user, rate limit, the thread hop, JSON encoding)
answers the request for all of them, ``start`` to ``end`` inclusive; the body is checked once (count,
first and last timestamp, equal to DuckDB's rows).
Beside it, in the same run: DuckDB reading the same Parquet file directly (``read_parquet`` with the
same time filter, ordered, timestamps formatted by DuckDB, ``fetchall`` into Python rows: the
headline peer); the same DuckDB rows encoded to the same JSON (msgspec), the like-for-like figure;
and DuckDB's columnar result (``to_arrow_table()``, no Python objects), the floor of any reader that
still has to turn the rows into JSON. Also the application function alone (``market_candles`` and
its columns, no HTTP).

Each measure is timed ``--repeat`` times per round over ``--rounds`` rounds, alternating, after a
warm-up; the best round's p50 is reported and every round is kept. Goal: the route's p50 within 2x of
DuckDB's. JSON results in benchmarks/results/market_data.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
from pathlib import Path
from typing import Any

from _in_process import login, p50_ms

HERE = Path(__file__).resolve().parent
SEED = 42
START = "2024-03-01T00:00:00Z"
GOAL_RATIO = 2.0
USER, PASSWORD = "benchmarket", "bench-market-password-42"
SECRET = "bench-market-secret-key-0123456789abcdef"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--candles", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    sys.path.insert(0, str(HERE.parent))
    import duckdb
    import msgspec
    import pandas as pd
    from litestar.testing import TestClient

    from pipelines.app.candles import market_candles
    from pipelines.data.ingest import ingest, plan_ingest
    from pipelines.settings import Settings
    from serving.app import create_app

    start = pd.Timestamp(START)
    end = start + pd.Timedelta(minutes=args.candles - 1)
    end_iso = end.strftime("%Y-%m-%dT%H:%M:%SZ")
    with tempfile.TemporaryDirectory(prefix="bench-market-") as tmp:
        settings = Settings(
            home=Path(tmp) / "home", history_start="2024-01-01", synthetic_seed=SEED, secret_key=SECRET
        )
        plan = plan_ingest(
            settings,
            source="synthetic",
            symbols=["BTC/USDT"],
            timeframe="1m",
            start=start,
            end=end + pd.Timedelta(minutes=1),
        )
        report = ingest(settings, plan)
        assert not report.failed and report.rows_written == args.candles, report.as_dict()
        files = sorted(settings.market_dir.rglob("*.parquet"))
        url = f"/api/market/data?symbol=BTC_USDT&timeframe=1m&start={START}&end={end_iso}"
        con = duckdb.connect()
        sql = (
            "SELECT strftime(timestamp AT TIME ZONE 'UTC', '%Y-%m-%dT%H:%M:%SZ') AS timestamp, open, high, "
            "low, close, volume FROM read_parquet(?) WHERE timestamp >= ? AND timestamp <= ? ORDER BY 1"
        )
        raw_sql = (
            "SELECT timestamp, open, high, low, close, volume FROM read_parquet(?) "
            "WHERE timestamp >= ? AND timestamp <= ? ORDER BY 1"
        )
        params = [[str(f) for f in files], start.to_pydatetime(), end.to_pydatetime()]
        encoder = msgspec.json.Encoder()
        keys = ("timestamp", "open", "high", "low", "close", "volume")

        def duck() -> list[tuple[Any, ...]]:
            return con.execute(sql, params).fetchall()

        def duck_arrow() -> Any:
            return con.sql(raw_sql, params=params).to_arrow_table()

        def duck_json() -> bytes:
            return encoder.encode([dict(zip(keys, row, strict=True)) for row in duck()])

        def app_function() -> Any:
            return market_candles(settings, "BTC_USDT", "1m", START, end_iso).columns()

        with TestClient(create_app(settings)) as client:
            headers = login(client, USER, PASSWORD)

            def route() -> bytes:
                answer = client.get(url, headers=headers)
                assert answer.status_code == 200, answer.text
                return answer.content

            body = json.loads(route())
            assert len(body) == args.candles and body[0]["timestamp"] == START
            assert body[-1]["timestamp"] == end_iso and len(duck()) == args.candles
            assert json.loads(duck_json()) == body, "DuckDB and the route answer different candles"
            assert duck_arrow().num_rows == args.candles
            measures = {
                "route": route,
                "duckdb": duck,
                "duckdb_json": duck_json,
                "duckdb_arrow": duck_arrow,
                "app_function": app_function,
            }
            for fn in measures.values():  # warm-up
                p50_ms(fn, 5)
            rounds: dict[str, list[float]] = {name: [] for name in measures}
            for _ in range(args.rounds):
                for name, fn in measures.items():
                    rounds[name].append(p50_ms(fn, args.repeat))
    best = {name: min(values) for name, values in rounds.items()}
    ratio = best["route"] / best["duckdb"]
    print(f"GET /api/market/data, {args.candles:,} stored 1m candles (p50, best of {args.rounds} rounds)")
    print(f"  route (test client, whole app)      {best['route']:8.2f} ms")
    print(f"  market_candles + columns (no HTTP)  {best['app_function']:8.2f} ms")
    print(f"  DuckDB read_parquet -> rows         {best['duckdb']:8.2f} ms")
    print(f"  DuckDB rows -> same JSON (msgspec)  {best['duckdb_json']:8.2f} ms")
    print(f"  DuckDB read_parquet -> Arrow table  {best['duckdb_arrow']:8.2f} ms (columnar, no Python rows)")
    print(f"  ratio route / DuckDB rows: {ratio:.2f}x (goal <= {GOAL_RATIO}x)")
    print(f"  ratio route / DuckDB JSON: {best['route'] / best['duckdb_json']:.2f}x")
    print(f"  ratio route / DuckDB Arrow: {best['route'] / best['duckdb_arrow']:.2f}x")
    results = {
        "seed": SEED,
        "candles": args.candles,
        "repeat": args.repeat,
        "rounds": rounds,
        "best_p50_ms": best,
        "ratio_route_vs_duckdb": ratio,
        "ratio_route_vs_duckdb_json": best["route"] / best["duckdb_json"],
        "ratio_route_vs_duckdb_arrow": best["route"] / best["duckdb_arrow"],
        "goal_ratio": GOAL_RATIO,
        "machine": {
            "cpu_count": os.cpu_count(),
            "loadavg": os.getloadavg(),
            "python": platform.python_version(),
            "duckdb": duckdb.__version__,
        },
    }
    out = HERE / "results"
    out.mkdir(exist_ok=True)
    (out / "market_data.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
