"""Where the repository's own files are, and the environment the Dagster instance needs."""

from __future__ import annotations

from pathlib import Path

from pipelines.errors import InvalidRequestError
from pipelines.security.files import private_dir
from pipelines.settings import Settings

__all__ = ["INSTANCE_FILES", "REPO_ROOT", "dagster_env", "dagster_pg_url"]

REPO_ROOT = Path(__file__).resolve().parents[1]

# The instance file of each ``TRADEFORGE_DAGSTER_INSTANCE``, relative to the repository.
INSTANCE_FILES = {"local": "dagster.yaml", "postgres": "deploy/dagster/dagster-postgres.yaml"}


def dagster_pg_url(url: str) -> str:
    """``url`` on the psycopg2 driver, the one dagster-postgres is written for: SQLAlchemy 2.1 reads a
    bare ``postgresql://`` as psycopg 3, which binds parameters on the server, and PostgreSQL refuses
    the parameter of the event log's ``NOTIFY``."""
    scheme, sep, rest = url.partition("://")
    if sep and scheme in {"postgres", "postgresql", "postgresql+psycopg"}:
        return f"postgresql+psycopg2://{rest}"
    return url


def dagster_env(settings: Settings) -> dict[str, str]:
    """Variables for the Dagster instance: ``DAGSTER_HOME`` is the private storage folder under the
    home (0700: it holds Dagster's SQLite databases of runs, events and schedules, and the UI's
    ``.nux/``), holding a copy of the repository's ``dagster.yaml`` (or, for the ``postgres`` instance,
    ``deploy/dagster/dagster-postgres.yaml``), refreshed on every call. The instance's PostgreSQL URL
    and the Celery broker and backend of the steps travel as variables, never in a file.

    Raises ``InvalidRequestError`` when the ``postgres`` instance is asked for without its URL."""
    group = settings.dagster
    if group.dagster_instance == "postgres" and not group.dagster_pg_url:
        raise InvalidRequestError("TRADEFORGE_DAGSTER_INSTANCE=postgres needs TRADEFORGE_DAGSTER_PG_URL")
    storage = private_dir(settings.dagster_dir.resolve())
    config = (REPO_ROOT / INSTANCE_FILES[group.dagster_instance]).read_text()
    instance_yaml = storage / "dagster.yaml"
    if not instance_yaml.exists() or instance_yaml.read_text() != config:
        instance_yaml.write_text(config)
    env = {
        "DAGSTER_HOME": str(storage),
        "TRADEFORGE_HOME": str(settings.home.resolve()),
        "TRADEFORGE_DAGSTER_STORAGE": str(storage),
        "TRADEFORGE_DAGSTER_LOGS": str(storage / "logs"),
        "TRADEFORGE_DAGSTER_CELERY_BROKER_URL": group.dagster_celery_broker_url,
        "TRADEFORGE_DAGSTER_CELERY_BACKEND_URL": group.dagster_celery_backend_url,
    }
    if group.dagster_pg_url:
        env["TRADEFORGE_DAGSTER_PG_URL"] = dagster_pg_url(group.dagster_pg_url)
    return env
