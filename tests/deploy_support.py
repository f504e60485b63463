"""What the deployment-file tests share: the files under deploy/, the variables the settings read, the
variables other programs read, and the commands of the ``tradeforge`` CLI."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import typer
import yaml

from pipelines.cli import app
from pipelines.cli.show_config import settings_view
from pipelines.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
COMPOSE = DEPLOY / "compose.yaml"
ENV_EXAMPLE = DEPLOY / ".env.example"
K8S = DEPLOY / "k8s"
HELM_VALUES = DEPLOY / "helm" / "dagster-values.yaml"

# Variables read by programs other than the settings, in the containers of the tradeforge image.
THIRD_PARTY_ENV = {
    "AWS_ACCESS_KEY_ID": "boto3, pyarrow and MLflow's S3 client",
    "AWS_SECRET_ACCESS_KEY": "boto3, pyarrow and MLflow's S3 client",
    "AWS_ENDPOINT_URL": "boto3 (the MinIO endpoint)",
    "MLFLOW_S3_ENDPOINT_URL": "MLflow's S3 artifact client",
    "MLFLOW_BACKEND_STORE_URI": "mlflow server",
    "MLFLOW_DEFAULT_ARTIFACT_ROOT": "mlflow server",
    "MLFLOW_SERVE_ARTIFACTS": "mlflow server",
    "MLFLOW_HOST": "mlflow server",
    "MLFLOW_PORT": "mlflow server",
    "MLFLOW_WORKERS": "mlflow server",
    "MLFLOW_SERVER_ALLOWED_HOSTS": "mlflow server",
    "DAGSTER_HOME": "Dagster's instance folder",
    "NVIDIA_VISIBLE_DEVICES": "the NVIDIA container runtime",
    "API_WORKERS": "the api service's own command line",
}

# The variables the deployment must set, by the names the settings read.
REQUIRED_APP_ENV = frozenset(
    {
        "TRADEFORGE_DATABASE_URL",
        "MLFLOW_TRACKING_URI",
        "TRADEFORGE_REDIS_URL",
        "TRADEFORGE_INFERENCE_URL",
        "TRADEFORGE_JOB_BROKER_URL",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "TRADEFORGE_SECRET_KEY",
        "TRADEFORGE_ENCRYPTION_KEY",
    }
)

SECRET_NAME = re.compile(r"(PASSWORD|PASS|SECRET|_KEY|TOKEN|AUTH)$|SECRET_ACCESS", re.IGNORECASE)
INTERPOLATION = re.compile(r"^\$\{[A-Z0-9_]+(:?[-?][^}]*)?\}$")
_URL_PASSWORD = re.compile(r"://[^:/@\s]*:([^@\s]*)@")


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


def load_all(path: Path) -> list[Any]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc is not None]


def settings_env_names(home: Path) -> set[str]:
    """The variable of every field of the settings, as ``tradeforge config`` lists them."""
    view = settings_view(Settings(home=home))
    return {field["env"] for group in view.values() for field in group["fields"].values()}


def cli_commands() -> set[tuple[str, ...]]:
    """Every command path of the ``tradeforge`` CLI: ("serve",), ("users", "create"), ..."""
    found: set[tuple[str, ...]] = set()

    def walk(command: Any, path: tuple[str, ...]) -> None:
        found.add(path)
        for name, sub in getattr(command, "commands", {}).items():
            walk(sub, (*path, name))

    walk(typer.main.get_command(app), ())
    return found


def password_in_url(value: str) -> str | None:
    """The password part of a URL's user info (``scheme://user:PASSWORD@host``), if it has one."""
    match = _URL_PASSWORD.search(value)
    return match.group(1) if match else None


def k8s_containers() -> Iterator[tuple[str, dict[str, Any]]]:
    """(file name, container) of every workload of deploy/k8s."""
    for path in sorted(K8S.glob("*.yaml")):
        for doc in load_all(path):
            if doc["kind"] == "Deployment":
                for container in doc["spec"]["template"]["spec"]["containers"]:
                    yield path.name, container
