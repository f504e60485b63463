"""The ``tradeforge`` command line: parse, call the core, print. No domain logic lives here.

Commands register on the shared ``app`` when their module is imported.
"""

from __future__ import annotations

from pipelines.cli import backtest, data, datasets, models, show_config, ui, users  # noqa: F401  (registers the commands)
from pipelines.cli._common import app

__all__ = ["app"]

if __name__ == "__main__":  # pragma: no cover
    app()
