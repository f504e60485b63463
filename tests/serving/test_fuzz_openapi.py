"""A bounded schemathesis run over the whole OpenAPI spec of a real ``tradeforge serve``.

Every operation gets the spec's examples, boundary cases and generated cases, positive (valid by the
spec) and negative (invalid by it), sent alternately as a user and as an admin. Two checks must hold
for every answer: no 5xx (but the 503 of a market-data provider these machines cannot reach), and the
body matches the schema the spec documents for its status. The server runs on a copy of a home with
two trained champions, so predictions, backtests and trainings really run.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from pipelines.app.accounts import register_user
from pipelines.db.engine import open_database
from pipelines.settings import Settings
from tests.net_support import free_port, wait_http
from tests.serving_support import PASSWORD, SECRET

pytestmark = [pytest.mark.slow, pytest.mark.fuzz]

# Generated cases per operation and caller (the examples and boundary cases come on top).
MAX_EXAMPLES = int(os.environ.get("TRADEFORGE_FUZZ_EXAMPLES", "5"))
# The event streams never end by themselves (they are tested where they are defined); the bot API's
# training trains the 300-step forecaster of its example on 43,200 bars per valid case, a minute each
# here (tests/contract/test_trading_bot_predictions.py runs it small).
# The served home holds bars from 2022 (HISTORY_START); the server reads the latest of them.
FUZZ_HISTORY_START = "2025-01-01"
_EXCLUDE = r"(/stream|/task-events)$|^/api/models/train$"


def _login(base: str, username: str) -> str:
    answer = httpx.post(f"{base}/auth/login", json={"username": username, "password": PASSWORD}, timeout=30)
    assert answer.status_code == 200, answer.text
    return str(answer.json()["access_token"])


@pytest.fixture(scope="module")
def served(trained_home: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """``tradeforge serve`` on a copy of the trained home, with a user and an admin logged in."""
    home = tmp_path_factory.mktemp("fuzz") / "home"
    shutil.copytree(trained_home.home, home)
    database = open_database(trained_home.model_copy(update={"home": home}))
    try:
        with database.transaction() as session:
            register_user(session, "fuzz_user", PASSWORD, role="user", tier="enterprise")
            register_user(session, "fuzz_admin", PASSWORD, role="admin", tier="enterprise")
    finally:
        database.close()
    port = free_port()
    env = {
        **os.environ,
        "TRADEFORGE_HOME": str(home),
        "TRADEFORGE_SECRET_KEY": SECRET,
        # Requests may name the real providers: they must fail at once, here, not reach the network.
        "TRADEFORGE_PROVIDER_MAX_RETRIES": "0",
        # Forecasters that GET /api/predictions/ trains for a caller: small, so that a case takes seconds.
        "TRADEFORGE_FORECAST_STEPS": "3",
        "TRADEFORGE_FORECAST_DAYS_HISTORY": "5",
        "TRADEFORGE_FORECAST_PARAMS": '{"n_estimators": 5, "num_leaves": 7, "target_components": 2}',
        # Trainings, backtests and walk-forwards that name no dates read from here to now, and a
        # generated request may read few bars and fold few times: each case costs little, and a
        # larger one meets the limits' 4xx (routes and checks stay the same).
        "TRADEFORGE_HISTORY_START": FUZZ_HISTORY_START,
        "TRADEFORGE_MAX_BARS_PER_REQUEST": "20000",
        "TRADEFORGE_MAX_WALK_FORWARD_FOLDS": "8",
        "HTTP_PROXY": "http://127.0.0.1:9",
        "HTTPS_PROXY": "http://127.0.0.1:9",
        "http_proxy": "http://127.0.0.1:9",
        "https_proxy": "http://127.0.0.1:9",
        "NO_PROXY": "127.0.0.1,localhost",
        "no_proxy": "127.0.0.1,localhost",
    }
    exe = Path(sys.executable).with_name("tradeforge")
    log = home.parent / "server.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [str(exe), "serve", "--port", str(port), "--log-level", "warning"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_http(f"{base}/health", proc)
        yield {"base": base, "tokens": {r: _login(base, f"fuzz_{r}") for r in ("user", "admin")}, "log": log}
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _statuses(report: Path) -> list[int]:
    """The status of every answer the run recorded."""
    statuses = []
    for line in report.read_text().splitlines():
        event = json.loads(line)
        for interaction in (
            event.get("ScenarioFinished", {}).get("recorder", {}).get("interactions", {}).values()
        ):
            if interaction.get("response"):
                statuses.append(int(interaction["response"]["status_code"]))
    return statuses


def test_no_server_error_and_documented_shapes(served: dict[str, Any], tmp_path: Path) -> None:
    report = tmp_path / "events.ndjson"
    exe = Path(sys.executable).with_name("schemathesis")
    command = [
        str(exe),
        "run",
        f"{served['base']}/openapi.json",
        "--checks",
        "no_server_fault,response_schema_conformance",
        "--mode",
        "all",
        "--phases",
        "examples,coverage,fuzzing",
        "--max-examples",
        str(MAX_EXAMPLES),
        "--seed",
        "20261206",
        "--no-shrink",
        "--generation-with-security-parameters",
        "false",
        "--generation-database",
        "none",
        "--request-timeout",
        "120",
        # One worker: schemathesis's threads compile code at once, which CPython 3.11 can fail with
        # "SystemError: AST constructor recursion depth mismatch" (a race in its AST state).
        "--workers",
        "1",
        "--exclude-path-regex",
        _EXCLUDE,
        "--report",
        "ndjson",
        "--report-ndjson-path",
        str(report),
        "--no-color",
        "--output-truncate",
        "true",
    ]
    env = {
        **os.environ,
        "SCHEMATHESIS_HOOKS": "tests.serving.fuzz_hooks",
        "PYTHONPATH": str(Path(__file__).resolve().parents[2]),
        "FUZZ_USER_TOKEN": served["tokens"]["user"],
        "FUZZ_ADMIN_TOKEN": served["tokens"]["admin"],
    }
    run = subprocess.run(command, capture_output=True, text=True, timeout=1200, cwd=tmp_path, env=env)
    output = run.stdout[-12000:] + run.stderr[-3000:]
    assert run.returncode == 0, output
    # The run sent a real number of requests, and the callers' tokens worked: many were answered.
    statuses = _statuses(report)
    assert len(statuses) >= 500, output
    assert sum(200 <= s < 300 for s in statuses) >= 100, output
    assert not [s for s in statuses if s >= 500 and s != 503], output
    server = served["log"].read_text(errors="replace")
    assert "Traceback" not in server, server[-4000:]
