"""Experiment tracking and the model registry behind one interface (qlib's Recorder idea).

``Tracker`` is what training code talks to; ``MlflowTracker`` implements it on an explicit
``MlflowClient`` (no fluent API, no process-global tracking URI), so two trackers on two stores
can live in one process and tests use a real store in a temp dir.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

from filelock import FileLock

from pipelines.security.files import private_file
from pipelines.settings import Settings

__all__ = [
    "FAILURE_TAG",
    "HOST_TAG",
    "PID_TAG",
    "PROCESS_STARTED_TAG",
    "MlflowTracker",
    "RegisteredVersion",
    "RunHandle",
    "Tracker",
    "open_tracker",
    "process_tags",
]

PID_TAG, HOST_TAG = "tradeforge.pid", "tradeforge.host"
PROCESS_STARTED_TAG = "tradeforge.process_started"  # the pid's start time: a reused pid is another process
FAILURE_TAG = "tradeforge.failure_reason"


def process_tags() -> dict[str, str]:
    """The tags naming this process: its pid, host and start time."""
    import psutil

    return {
        PID_TAG: str(os.getpid()),
        HOST_TAG: socket.gethostname(),
        PROCESS_STARTED_TAG: repr(psutil.Process().create_time()),
    }


@dataclass(frozen=True)
class RegisteredVersion:
    name: str
    version: str
    run_id: str
    source: str
    aliases: tuple[str, ...]
    tags: dict[str, str]
    metrics: dict[str, float]
    created_ms: int
    params: dict[str, str] = field(default_factory=dict)  # its run's parameters


class RunHandle(Protocol):
    run_id: str

    def log_params(self, params: Mapping[str, Any]) -> None: ...
    def log_metrics(self, metrics: Mapping[str, float]) -> None: ...
    def set_tags(self, tags: Mapping[str, str]) -> None: ...
    def log_dict(self, data: Mapping[str, Any], name: str) -> None: ...
    def log_text(self, text: str, name: str) -> None: ...
    def log_figure(self, figure: Any, name: str) -> None: ...
    def log_model_dir(self, local_dir: Path, name: str) -> str: ...


class Tracker(Protocol):
    uri: str

    def run(
        self, experiment: str, run_name: str, tags: Mapping[str, str]
    ) -> AbstractContextManager[RunHandle]: ...
    def register(self, name: str, source: str, run_id: str, tags: Mapping[str, str]) -> str: ...
    def alias_version(self, name: str, alias: str) -> RegisteredVersion | None: ...
    def set_alias(self, name: str, alias: str, version: str) -> None: ...
    def get_version(self, name: str, version: str) -> RegisteredVersion: ...
    def run_params(self, run_id: str) -> dict[str, str]: ...
    def list_models(self) -> list[tuple[str, list[RegisteredVersion]]]: ...
    def delete_model(self, name: str) -> None: ...
    def model_tags(self, name: str) -> dict[str, str] | None: ...
    def set_model_tag(self, name: str, key: str, value: str) -> None: ...
    def version_tags(self, name: str) -> dict[str, dict[str, str]]: ...
    def set_version_tags(self, name: str, version: str, tags: Mapping[str, str]) -> None: ...
    def download(self, source: str, dst: Path) -> Path: ...
    def artifact_bytes(self, source: str) -> int: ...


class _MlflowRun:
    def __init__(self, client: Any, run_id: str) -> None:
        self._client = client
        self.run_id = run_id

    def log_params(self, params: Mapping[str, Any]) -> None:
        from mlflow.entities import Param

        items = [Param(k, _param_text(v)) for k, v in params.items()]
        for i in range(0, len(items), 100):
            self._client.log_batch(self.run_id, params=items[i : i + 100])

    def log_metrics(self, metrics: Mapping[str, float]) -> None:
        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        items = [Metric(k, float(v), now, 0) for k, v in metrics.items() if v == v]  # NaN is not logged
        for i in range(0, len(items), 500):
            self._client.log_batch(self.run_id, metrics=items[i : i + 500])

    def set_tags(self, tags: Mapping[str, str]) -> None:
        from mlflow.entities import RunTag

        self._client.log_batch(self.run_id, tags=[RunTag(k, str(v)) for k, v in tags.items()])

    def log_dict(self, data: Mapping[str, Any], name: str) -> None:
        self._client.log_dict(self.run_id, dict(data), name)

    def log_text(self, text: str, name: str) -> None:
        self._client.log_text(self.run_id, text, name)

    def log_figure(self, figure: Any, name: str) -> None:
        self._client.log_figure(self.run_id, figure, name)

    def log_model_dir(self, local_dir: Path, name: str) -> str:
        self._client.log_artifacts(self.run_id, str(local_dir), name)
        run = self._client.get_run(self.run_id)
        return f"{run.info.artifact_uri.rstrip('/')}/{name}"


def _param_text(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return text[:6000]


class MlflowTracker:
    """The ``Tracker`` on an MLflow tracking server or store (``sqlite:///...``, ``http://...``)."""

    def __init__(self, uri: str, artifact_root: Path | str | None = None) -> None:
        """``artifact_root``: a folder, or an ``s3://`` URL, under which each new experiment gets
        its artifact location (None: the tracking server's default)."""
        from mlflow import MlflowClient

        self.uri = uri
        self.artifact_root = artifact_root
        # Downloads of model folders are internal steps, not something to draw progress bars for.
        os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
        self._client = MlflowClient(tracking_uri=uri, registry_uri=uri)

    @property
    def client(self) -> Any:
        return self._client

    def _experiment_id(self, name: str) -> str:
        found = self._client.get_experiment_by_name(name)
        if found is not None:
            return str(found.experiment_id)
        location = None
        if isinstance(self.artifact_root, str):
            location = f"{self.artifact_root.rstrip('/')}/{name}"
        elif self.artifact_root is not None:
            location = (self.artifact_root / name).resolve().as_uri()
        try:
            return str(self._client.create_experiment(name, artifact_location=location))
        except Exception:  # another process created it first
            again = self._client.get_experiment_by_name(name)
            if again is None:
                raise
            return str(again.experiment_id)

    @contextmanager
    def run(self, experiment: str, run_name: str, tags: Mapping[str, str]) -> Iterator[_MlflowRun]:
        """A run that ends FINISHED; KILLED when the process is told to stop (a cancelled job), FAILED
        when the body raises, either with the reason as the ``tradeforge.failure_reason`` tag. The
        run records the process that owns it, so a run its killed process left RUNNING can be
        told apart (see :func:`pipelines.app.recovery.fail_orphaned_runs`)."""
        owner = {**dict(tags), **process_tags()}
        created = self._client.create_run(self._experiment_id(experiment), run_name=run_name, tags=owner)
        handle = _MlflowRun(self._client, created.info.run_id)
        try:
            yield handle
        except BaseException as exc:
            stopped = isinstance(exc, KeyboardInterrupt | SystemExit)
            reason = "the process was stopped" if stopped else f"{type(exc).__name__}: {exc}"
            with contextlib.suppress(Exception):  # the original error matters more
                handle.set_tags({FAILURE_TAG: reason[:5000]})
            self._client.set_terminated(handle.run_id, status="KILLED" if stopped else "FAILED")
            raise
        self._client.set_terminated(handle.run_id, status="FINISHED")

    def register(self, name: str, source: str, run_id: str, tags: Mapping[str, str]) -> str:
        from mlflow.exceptions import MlflowException

        try:
            self._client.create_registered_model(name)
        except MlflowException as exc:
            if "RESOURCE_ALREADY_EXISTS" not in str(exc.error_code):
                raise
        version = self._client.create_model_version(name, source=source, run_id=run_id, tags=dict(tags))
        return str(version.version)

    def _version(self, mv: Any) -> RegisteredVersion:
        metrics: dict[str, float] = {}
        params: dict[str, str] = {}
        if mv.run_id:
            data = self._client.get_run(mv.run_id).data
            metrics, params = dict(data.metrics), dict(data.params)
        return RegisteredVersion(
            name=mv.name,
            version=str(mv.version),
            run_id=mv.run_id or "",
            source=mv.source,
            aliases=tuple(getattr(mv, "aliases", []) or []),
            tags=dict(mv.tags or {}),
            metrics=metrics,
            created_ms=int(mv.creation_timestamp or 0),
            params=params,
        )

    def alias_version(self, name: str, alias: str) -> RegisteredVersion | None:
        from mlflow.exceptions import MlflowException

        try:
            return self._version(self._client.get_model_version_by_alias(name, alias))
        except MlflowException:
            return None

    def set_alias(self, name: str, alias: str, version: str) -> None:
        self._client.set_registered_model_alias(name, alias, version)

    def get_version(self, name: str, version: str) -> RegisteredVersion:
        return self._version(self._client.get_model_version(name, version))

    def run_params(self, run_id: str) -> dict[str, str]:
        """The parameters a run logged, as the text MLflow keeps."""
        return dict(self._client.get_run(run_id).data.params)

    def list_models(self) -> list[tuple[str, list[RegisteredVersion]]]:
        out = []
        token = None
        while True:
            page = self._client.search_registered_models(max_results=100, page_token=token)
            for rm in page:
                by_version: dict[str, list[str]] = {}
                for alias, version in (getattr(rm, "aliases", None) or {}).items():
                    by_version.setdefault(str(version), []).append(alias)
                versions = [
                    replace(self._version(v), aliases=tuple(sorted(by_version.get(str(v.version), []))))
                    for v in self._client.search_model_versions(f"name = '{rm.name}'")
                ]
                out.append((rm.name, sorted(versions, key=lambda v: int(v.version))))
            token = page.token
            if not token:
                return sorted(out)

    def delete_model(self, name: str) -> None:
        self._client.delete_registered_model(name)

    def model_tags(self, name: str) -> dict[str, str] | None:
        """The tags of registered model ``name``; None when no model has that name."""
        from mlflow.exceptions import MlflowException

        try:
            model = self._client.get_registered_model(name)
        except MlflowException as exc:
            # Unknown, or a name no model can have (MLflow refuses '/' and ':').
            if str(exc.error_code) in ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE"):
                return None
            raise
        return dict(model.tags or {})

    def set_model_tag(self, name: str, key: str, value: str) -> None:
        """Tag the registered model ``name`` (not one of its versions)."""
        self._client.set_registered_model_tag(name, key, value)

    def version_tags(self, name: str) -> dict[str, dict[str, str]]:
        """The tags of each version of registered model ``name`` (no version: empty)."""
        found = self._client.search_model_versions(f"name = '{name}'")
        return {str(v.version): dict(v.tags or {}) for v in found}

    def set_version_tags(self, name: str, version: str, tags: Mapping[str, str]) -> None:
        for key, value in tags.items():
            self._client.set_model_version_tag(name, version, key, value)

    def download(self, source: str, dst: Path) -> Path:
        from mlflow.artifacts import download_artifacts

        dst.mkdir(parents=True, exist_ok=True)
        return Path(download_artifacts(artifact_uri=source, dst_path=str(dst), tracking_uri=self.uri))

    def artifact_bytes(self, source: str) -> int:
        """The size in bytes of the files under the artifact ``source`` (a model folder), listed
        without downloading them."""
        from mlflow.store.artifact.artifact_repository_registry import get_artifact_repository

        repo = get_artifact_repository(artifact_uri=source, tracking_uri=self.uri)
        total, folders = 0, list[str | None]([None])
        while folders:
            for info in repo.list_artifacts(folders.pop()):
                if info.is_dir:
                    folders.append(info.path)
                else:
                    total += int(info.file_size or 0)
        return total


_READY_STORES: set[str] = set()  # SQLite stores this process has created or migrated
_READY_LOCK = threading.Lock()


def open_tracker(settings: Settings) -> MlflowTracker:
    """The tracker of this home: ``MLFLOW_TRACKING_URI`` or a SQLite store under the home.

    A SQLite store is created (or migrated) the first time under a file lock: MLflow builds its
    tables on first use, and two processes doing that at once (``tradeforge serve --workers 2`` on
    a fresh home) collide on the same migration ("duplicate column name").
    """
    uri = settings.resolved_mlflow_uri()
    artifacts: Path | str = settings.home / "mlflow" / "artifacts"
    remote = settings.storage.mlflow_artifact_root
    if remote is not None:
        artifacts = remote
        if settings.storage.s3_endpoint_url:  # MLflow's boto3 client reads its endpoint from here
            os.environ["MLFLOW_S3_ENDPOINT_URL"] = settings.storage.s3_endpoint_url
    if not uri.startswith("sqlite:///") or uri in _READY_STORES:
        return MlflowTracker(uri, artifact_root=artifacts)
    private_file(Path(uri.removeprefix("sqlite:///")))  # 0600 before MLflow's engine creates it
    settings.locks_dir.mkdir(parents=True, exist_ok=True)
    with _READY_LOCK, FileLock(str(settings.locks_dir / "mlflow-store.lock"), timeout=300):
        tracker = MlflowTracker(uri, artifact_root=artifacts)  # creates the tracking store's tables
        tracker.client.search_registered_models(max_results=1)  # and the registry's
        _READY_STORES.add(uri)
    return tracker
