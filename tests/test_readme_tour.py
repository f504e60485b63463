"""README.md's commands run, in the order written, on what ``make demo`` leaves, as a new user runs them.

``make demo`` itself starts the tour (in the background: its API keeps serving the ``curl`` examples);
the other servers (``make dagster``, ``make mlflow``, ...) are stopped once their page answers. The
demo is shortened by its own settings (history from 2025, four symbols), and Dagster's automations
start stopped so nothing retrains behind the tour's back. A server command met again (``make dagster``
under Development) is not started twice. How commands are read and rewritten:
``tests/readme_support.py``.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.readme_support import (
    ELSEWHERE,
    NEEDS_INTERNET,
    REPO,
    Command,
    Tour,
    readme_commands,
    strip_comment,
    tour_env,
)

DEMO_SETTINGS = {
    "TRADEFORGE_HISTORY_START": "2025-01-01",
    "TRADEFORGE_UNIVERSE": json.dumps(
        [
            {"symbol": "AAPL", "timeframes": ["1d"]},
            {"symbol": "SPY", "timeframes": ["1d"]},
            {"symbol": "BTC/USDT", "timeframes": ["1d", "1h"]},
            {"symbol": "ETH/USDT", "timeframes": ["1d"]},
        ]
    ),
    "TRADEFORGE_AUTOMATIONS_RUNNING": "false",
}


def test_commands_are_read_as_bash_reads_them() -> None:
    assert strip_comment("tradeforge data list   # every dataset") == "tradeforge data list"
    assert strip_comment("""query "SELECT '#1'" -d '{"a": "#"}' x#y  # note""") == (
        """query "SELECT '#1'" -d '{"a": "#"}' x#y"""
    )
    assert strip_comment(r"echo \# kept") == r"echo \# kept"
    markdown = (
        "Intro line:\n\n```bash\nfirst --a \\\n    --b  # why\n\n# a comment\nsecond\n```\n\n"
        "```python\nnot_a_command()\n```\nWith internet access:\n```bash\nthird\n```\n"
    )
    assert readme_commands(markdown) == [
        Command("first --a --b", 4, "Intro line:"),
        Command("second", 8, "Intro line:"),
        Command("third", 16, "With internet access:"),
    ]


@pytest.mark.slow
def test_the_readme_runs_in_order_after_make_demo(tmp_path: Path) -> None:
    missing = [tool for tool in ("make", "curl", "bash") if shutil.which(tool) is None]
    if missing:
        pytest.skip(f"the README's commands need {', '.join(missing)}")
    commands = readme_commands((REPO / "README.md").read_text())
    assert commands[0].text == "make demo", "the README starts with make demo"
    tour = Tour(tmp_path, tour_env(tmp_path / "home", DEMO_SETTINGS))
    try:
        for command in commands:
            tour.run(command)
        after = tour.champions()
    finally:
        tour.close()
    slowest = sorted(tour.timings, reverse=True)[:5]
    print("slowest:", *(f"{seconds:6.1f} s  {text}" for seconds, text in slowest), sep="\n")
    network = [c for c, reason in tour.skipped if reason == NEEDS_INTERNET]
    assert network and all("yfinance" in c.text or "ccxt" in c.text for c in network)
    unlabelled = [c.text for c in network if "internet" not in c.intro.lower()]
    assert not unlabelled, f"say above their block that these need the internet: {unlabelled}"
    others = {c.text: reason for c, reason in tour.skipped if reason != NEEDS_INTERNET}
    assert set(others) <= set(ELSEWHERE) | tour.served, others
    assert tour.demo_champions, "make demo registered no model"
    assert {name: after.get(name) for name in tour.demo_champions} == tour.demo_champions, (
        "the tour changed the champions the demo serves"
    )
