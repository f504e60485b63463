"""The ``tradeforge`` command line: parse, call the core, print. No domain logic lives here.

Commands register on the shared ``app`` when their module is imported. A command imports the use
case it runs inside its function only when that pulls in a heavy library (pandas, numba, SQLAlchemy,
MLflow, DuckDB, uvicorn), so ``tradeforge --help`` and the light commands start fast; each such import
says so in a comment. Nothing else is imported in a function: the layers contract sees no cycle to hide.
"""

from __future__ import annotations

from pipelines.cli import (  # noqa: F401  (registers the commands)
    backtest,
    data,
    datasets,
    jobs,
    models,
    optimize,
    show_config,
    sweep,
    ui,
    users,
)
from pipelines.cli._common import app

__all__ = ["app"]

if __name__ == "__main__":  # pragma: no cover
    app()
