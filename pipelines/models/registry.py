"""Loading registered versions for prediction: ``name@champion``, ``name@latest`` or ``name/3``.

``ModelRegistry`` keeps loaded models in process, keyed by (name, version), and remembers which
version an alias pointed to until ``reload``; there is no global instance: the serving app, a CLI
command or a test owns one. Model folders are downloaded once into ``cache_dir``.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from pathlib import Path

from pipelines.errors import DataNotFoundError, InvalidRequestError
from pipelines.models.kinds import BaseRegressor, load_model
from pipelines.models.mlflow_model import ServingMeta, read_meta
from pipelines.models.tracking import RegisteredVersion, Tracker

__all__ = ["LoadedModel", "ModelRegistry"]


@dataclass(frozen=True)
class LoadedModel:
    name: str
    version: str
    model: BaseRegressor
    meta: ServingMeta
    aliases: tuple[str, ...]
    load_seconds: float


class ModelRegistry:
    def __init__(self, tracker: Tracker, cache_dir: Path) -> None:
        self.tracker = tracker
        self.cache_dir = cache_dir
        self._models: dict[tuple[str, str], LoadedModel] = {}
        self._aliases: dict[tuple[str, str], str] = {}
        self._lock = threading.RLock()

    def resolve(self, name: str, ref: str = "champion") -> RegisteredVersion:
        """The registered version ``ref`` names: an alias (``champion``), ``latest`` or a number."""
        ref = str(ref)
        if ref.isdigit():
            try:
                return self.tracker.get_version(name, ref)
            except Exception:
                raise DataNotFoundError(f"model {name!r} has no version {ref}") from None
        if ref == "latest":
            versions = dict(self.tracker.list_models()).get(name)
            if not versions:
                raise DataNotFoundError(f"no registered model named {name!r}")
            return versions[-1]
        found = self.tracker.alias_version(name, ref)
        if found is None:
            known = dict(self.tracker.list_models())
            if name not in known:
                raise DataNotFoundError(f"no registered model named {name!r}")
            raise DataNotFoundError(f"model {name!r} has no version with the alias {ref!r}")
        return found

    def load(self, name: str, ref: str = "champion") -> LoadedModel:
        """The loaded model, from the cache when it is there."""
        with self._lock:
            version = self._aliases.get((name, ref)) if not str(ref).isdigit() else str(ref)
            if version is not None and (name, version) in self._models:
                return self._models[(name, version)]
            registered = self.resolve(name, ref)
            if not str(ref).isdigit():
                self._aliases[(name, ref)] = registered.version
            key = (name, registered.version)
            if key not in self._models:
                self._models[key] = self._load(registered)
            return self._models[key]

    def cached(self, name: str, ref: str = "champion") -> LoadedModel | None:
        """The loaded model ``ref`` names when it is in memory already (no I/O), else None."""
        version = self._aliases.get((name, ref)) if not str(ref).isdigit() else str(ref)
        return None if version is None else self._models.get((name, version))

    def _load(self, registered: RegisteredVersion) -> LoadedModel:
        began = time.perf_counter()
        target = self.cache_dir / registered.name / registered.version
        regressor_dir = target / "model" / "artifacts" / "regressor"
        if not regressor_dir.is_dir():
            self.tracker.download(registered.source, target)
        if not regressor_dir.is_dir():
            raise InvalidRequestError(f"{registered.name} v{registered.version} is not a Tradeforge model")
        model = load_model(regressor_dir, member_loader=self.member_loader)
        return LoadedModel(
            name=registered.name,
            version=registered.version,
            model=model,
            meta=read_meta(regressor_dir),
            aliases=registered.aliases,
            load_seconds=time.perf_counter() - began,
        )

    def member_loader(self, name: str, ref: str) -> BaseRegressor:
        """For ensembles: a member model by name and version (or alias)."""
        return self.load(name, ref).model

    def reload(self, name: str | None = None) -> None:
        """Forget aliases (and loaded versions) of ``name``, or of every model; the next load
        resolves ``champion`` afresh."""
        with self._lock:
            for key in [k for k in self._aliases if name is None or k[0] == name]:
                del self._aliases[key]
            for key in [k for k in self._models if name is None or k[0] == name]:
                del self._models[key]

    def loaded(self) -> list[LoadedModel]:
        with self._lock:
            return list(self._models.values())
