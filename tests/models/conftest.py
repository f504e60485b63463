from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from pipelines.models.tracking import MlflowTracker


@pytest.fixture(scope="session")
def _mlflow_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("mlflow")


@pytest.fixture(scope="session")
def _template_db(_mlflow_root: Path) -> Path:
    """One migrated MLflow database per session; each test copies it (migrations take seconds)."""
    path = _mlflow_root / "template.db"
    MlflowTracker(f"sqlite:///{path}", _mlflow_root / "template-artifacts").list_models()
    return path


@pytest.fixture
def tracker(_template_db: Path, tmp_path: Path) -> Iterator[MlflowTracker]:
    db = tmp_path / "mlflow.db"
    db.write_bytes(_template_db.read_bytes())
    yield MlflowTracker(f"sqlite:///{db}", tmp_path / "artifacts")
