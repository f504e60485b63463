#!/usr/bin/env bash
# The MLflow tracking server and UI on Tradeforge's store: the SQLite database and artifact folder
# under $TRADEFORGE_HOME/mlflow (or MLFLOW_TRACKING_URI when set). `make mlflow` runs this.
# Usage: mlflow/server.sh [--host 127.0.0.1] [--port 5000]
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
# The repository's .venv, else the tradeforge of the environment in use.
tradeforge="$here/.venv/bin/tradeforge"
[ -x "$tradeforge" ] || tradeforge="$(command -v tradeforge)" || {
    echo "tradeforge not found: run make install" >&2
    exit 1
}
exec "$tradeforge" mlflow "$@"
