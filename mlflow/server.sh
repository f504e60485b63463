#!/usr/bin/env bash
# The MLflow tracking server and UI on Tradeforge's store: the SQLite database and artifact folder
# under $TRADEFORGE_HOME/mlflow (or MLFLOW_TRACKING_URI when set). `make mlflow` runs this.
# Usage: mlflow/server.sh [--host 127.0.0.1] [--port 5000]
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
exec "$here/.venv/bin/tradeforge" mlflow "$@"
