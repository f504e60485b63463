"""The training platform's models (``/models``): list, read, delete, and predict with them.

The app database's index (``trained_models``) answers listing and ownership; MLflow holds the
files. Another user's model reads as not found. A prediction loads the model once into a bounded
least-recently-used cache; its input is checked (row width, numbers only, batch size) before the
model sees it.
"""

from __future__ import annotations

import contextlib
import shutil
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import func, select

from pipelines.db.engine import Database
from pipelines.db.learning_models import TrainedModel
from pipelines.db.types import isoformat_utc
from pipelines.errors import DataNotFoundError, InvalidRequestError
from pipelines.jobs.records import Requester
from pipelines.learning.base import FeatureSpec, Predictor
from pipelines.learning.data import input_matrix, predictions
from pipelines.learning.pyfunc import LearnedMeta, find_predictor_dir, read_meta
from pipelines.learning.registry import MODEL_TYPES, load_predictor
from pipelines.models.ownership import Actor, ModelOwners
from pipelines.models.tracking import MlflowTracker, open_tracker
from pipelines.settings import Settings

__all__ = ["MODEL_SORTS", "TrainedModels"]

MODEL_SORTS = ("created_at", "accuracy", "name")
_MAX_LIMIT = 100


@dataclass(frozen=True, slots=True)
class _Loaded:
    meta: LearnedMeta
    predictor: Predictor


def _row(m: TrainedModel) -> dict[str, Any]:
    return {
        "id": m.id,
        "name": m.name,
        "model_type": m.model_type,
        "task": m.task,
        "accuracy": m.accuracy,
        "created_at": isoformat_utc(m.created_at),
        "size_mb": round(m.size_bytes / 1e6, 3),
    }


class TrainedModels:
    def __init__(self, settings: Settings, database: Database, tracker: MlflowTracker | None = None):
        self.settings = settings
        self.database = database
        self._tracker = tracker
        self._cache: OrderedDict[str, _Loaded] = OrderedDict()
        self._lock = threading.Lock()
        self._loading = threading.Lock()

    @property
    def tracker(self) -> MlflowTracker:
        if self._tracker is None:  # opened on first use: MLflow's import costs seconds
            self._tracker = open_tracker(self.settings)
        return self._tracker

    def list(
        self, user: Requester, *, page: int = 1, limit: int = 10, model_type: str | None = None,
        sort_by: str = "created_at",
    ) -> dict[str, Any]:  # fmt: skip
        """One page of the user's models (an admin's: everyone's), newest first by default."""
        if page < 1 or not 1 <= limit <= _MAX_LIMIT:
            raise InvalidRequestError(f"page starts at 1 and limit is between 1 and {_MAX_LIMIT}")
        if sort_by not in MODEL_SORTS:
            raise InvalidRequestError(
                f"unknown sort_by {sort_by!r}; expected one of: {', '.join(MODEL_SORTS)}"
            )
        if model_type is not None and model_type not in MODEL_TYPES:
            known = ", ".join(sorted(MODEL_TYPES))
            raise InvalidRequestError(f"unknown model_type {model_type!r}; the model types are: {known}")
        query = select(TrainedModel)
        if not user.is_admin:
            query = query.where(TrainedModel.user_id == user.id)
        if model_type is not None:
            query = query.where(TrainedModel.model_type == model_type)
        order = {
            "created_at": (TrainedModel.created_at.desc(),),
            "accuracy": (TrainedModel.accuracy.is_(None), TrainedModel.accuracy.desc()),
            "name": (TrainedModel.name.asc(),),
        }[sort_by]
        with self.database.session() as session:
            total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
            rows = session.scalars(
                query.order_by(*order, TrainedModel.id).offset((page - 1) * limit).limit(limit)
            )
            models = [_row(m) for m in rows]
        return {"total": int(total), "page": page, "limit": limit, "models": models}

    def get(self, model_id: str, user: Requester) -> dict[str, Any]:
        m = self._owned(model_id, user)
        info = m.info
        return {
            **_row(m),
            "architecture": info.get("architecture", {}),
            "performance": info.get("performance", {}),
            "training_config": info.get("training_config", {}),
            "dataset_id": m.dataset_id,
            "job_id": m.job_id,
            "classes": info.get("classes", []),
            "feature_names": info.get("feature_names", []),
            "registered_model": m.registered_name,
            "version": m.registered_version,
        }

    def delete(self, model_id: str, user: Requester) -> None:
        """Delete the registered model, its run's files and its index row."""
        m = self._owned(model_id, user)
        tracker = self.tracker
        ModelOwners(self.database, tracker).delete(m.registered_name, Actor(user.id, user.is_admin))
        with contextlib.suppress(Exception):  # the registered model is gone; files are best effort
            from mlflow.store.artifact.artifact_repository_registry import get_artifact_repository

            run_root = m.source.rsplit("/", 1)[0]
            repo = get_artifact_repository(artifact_uri=run_root, tracking_uri=tracker.uri)
            repo.delete_artifacts()  # type: ignore[no-untyped-call]
            tracker.client.delete_run(m.run_id)
        with self.database.transaction() as session:
            row = session.get(TrainedModel, model_id)
            if row is not None:
                session.delete(row)
        with self._lock:
            self._cache.pop(model_id, None)
        shutil.rmtree(self._cache_dir(model_id), ignore_errors=True)

    def predict(self, model_id: str, user: Requester, rows: Sequence[Any]) -> dict[str, Any]:
        """Predictions for ``rows`` (number vectors; base64 images for image models)."""
        most = self.settings.learning.max_predict_batch
        if not rows:
            raise InvalidRequestError("give `input` (one row) or `inputs` (a list of rows)")
        if len(rows) > most:
            raise InvalidRequestError(f"{len(rows)} rows is more than the {most} one request may predict")
        loaded = self._load(model_id, user)
        x = _matrix(rows, loaded.meta)
        out = np.asarray(loaded.predictor.predict_proba(x))
        classes = loaded.meta.classes if loaded.meta.task == "classification" else []
        return {"model_id": model_id, "predictions": predictions(out, classes)}

    # -- helpers -----------------------------------------------------------------------------------
    def _owned(self, model_id: str, user: Requester) -> TrainedModel:
        with self.database.session() as session:
            m = session.get(TrainedModel, model_id) if _plausible(model_id) else None
            _visible(model_id, None if m is None else m.user_id, user)
            assert m is not None
            session.expunge(m)
            return m

    def _cache_dir(self, model_id: str) -> Path:
        return self.settings.models_cache_dir / "learning" / model_id

    def _source(self, model_id: str, user: Requester) -> str:
        """The model's files' location, after the same check as ``_owned``: two columns read, not
        the row (its JSON ``info`` is most of a prediction's fixed cost)."""
        query = select(TrainedModel.user_id, TrainedModel.source).where(TrainedModel.id == model_id)
        with self.database.engine.connect() as connection:
            found = connection.execute(query).first() if _plausible(model_id) else None
        _visible(model_id, None if found is None else found.user_id, user)
        assert found is not None
        return str(found.source)

    def _load(self, model_id: str, user: Requester) -> _Loaded:
        source = self._source(model_id, user)
        with self._lock:
            hit = self._cache.get(model_id)
            if hit is not None:
                self._cache.move_to_end(model_id)
                return hit
        with self._loading:  # one download at a time: a burst of first calls loads the model once
            with self._lock:
                hit = self._cache.get(model_id)
            if hit is None:
                folder = self._cache_dir(model_id)
                if not folder.is_dir():  # downloaded beside it, then renamed: never half a folder
                    part = folder.with_name(f"{model_id}.part")
                    shutil.rmtree(part, ignore_errors=True)
                    self.tracker.download(source, part)
                    part.rename(folder)
                predictor_dir = find_predictor_dir(folder)
                meta = read_meta(predictor_dir)
                hit = _Loaded(meta, load_predictor(meta.model_type, predictor_dir))
        with self._lock:
            self._cache[model_id] = hit
            self._cache.move_to_end(model_id)
            while len(self._cache) > self.settings.learning.predict_cache_models:
                self._cache.popitem(last=False)
        return hit


def _plausible(model_id: str) -> bool:
    """Whether ``model_id`` could be a model's id at all (longer ones are not looked up)."""
    return len(model_id) <= 36


def _visible(model_id: str, owner: str | None, user: Requester) -> None:
    """Not found (``owner`` None: no such model) or someone else's, to a user who is not an admin,
    is the same 404: another user's ids are not confirmed."""
    if owner is None or (owner != user.id and not user.is_admin):
        raise DataNotFoundError(f"no model with id {model_id!r}")


def _matrix(rows: Sequence[Any], meta: LearnedMeta) -> NDArray[np.float32]:
    """The rows as the model's input, or InvalidRequestError naming the first bad row or value."""
    if meta.spec is None:
        return _images(rows, meta)
    if meta.sequence_length is None:
        fast = _numbers(rows, len(meta.feature_names))
        if fast is not None:
            return fast
    # The checking reader: names the first bad input (and reads sequence windows).
    return input_matrix(list(rows), FeatureSpec.from_dict(meta.spec), sequence_length=meta.sequence_length)


def _numbers(rows: Sequence[Any], width: int) -> NDArray[np.float32] | None:
    """Rows that are all lists of ``width`` finite numbers as one array, in one numpy conversion;
    None when any is not (then the checking reader says which)."""
    if not all(isinstance(row, list) and len(row) == width for row in rows):
        return None
    if not {type(v) for row in rows for v in row} <= {int, float}:
        return None
    x = np.asarray(rows, dtype=np.float32)
    return x if np.isfinite(x).all() else None


def _images(rows: Sequence[Any], meta: LearnedMeta) -> NDArray[np.float32]:
    from pipelines.learning.image_data import decode_images

    for i, row in enumerate(rows):
        if not isinstance(row, str):
            raise InvalidRequestError(f"input {i} must be a base64-encoded image for this image model")
    return decode_images(list(rows), meta.input_shape)
