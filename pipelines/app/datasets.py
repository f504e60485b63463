"""The dataset catalogue (``/datasets``): upload, list, read and delete a user's datasets.

An upload is stored, then processed by a job (``pipelines.app.dataset_job``); the dataset's status is
its job's: ``processing`` while queued or running, ``ready`` when it completed (its result is the
metadata), ``failed`` when it failed or was cancelled (its error says why).
"""

from __future__ import annotations

import contextlib
import math
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, BinaryIO

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from pipelines.app.dataset_job import DATASET_JOB
from pipelines.data.symbols import parse_symbol
from pipelines.datasets.files import DatasetFiles
from pipelines.datasets.formats import file_format, file_suffix
from pipelines.datasets.profile import check_dataset_type
from pipelines.db.dataset_models import Dataset
from pipelines.db.engine import Database
from pipelines.db.job_models import Job
from pipelines.errors import ConflictError, DataNotFoundError, InvalidRequestError, PermissionDeniedError
from pipelines.jobs.queue import JobQueue
from pipelines.jobs.records import Requester
from pipelines.names import check_name
from pipelines.settings import Settings

__all__ = [
    "DATASET_STATUSES",
    "OPERATOR",
    "SORT_FIELDS",
    "BarsSource",
    "DatasetCatalog",
    "DatasetPage",
    "DatasetView",
    "UploadRequest",
    "check_upload",
]

DATASET_STATUSES = ("processing", "ready", "failed")
SORT_FIELDS = {"name": Dataset.name, "created_at": Dataset.created_at, "size": Dataset.file_size}
MAX_PAGE_SIZE = 100
_JOB_STATUSES = {
    "processing": ("queued", "running"),
    "ready": ("completed",),
    "failed": ("failed", "cancelled"),
}


@dataclass(frozen=True, slots=True)
class UploadRequest:
    """The checked form fields of an upload."""

    name: str
    description: str | None
    dataset_type: str
    file_name: str
    target: str | None

    @property
    def file_format(self) -> str:
        return file_format(self.file_name)


def check_upload(
    *, name: str, description: str | None, dataset_type: str, file_name: str, target: str | None = None
) -> UploadRequest:
    """The upload's fields, or InvalidRequestError naming the first bad one."""
    clean = check_name(name or "", "name", max_length=200)
    if description is not None and len(description) > 10_000:
        raise InvalidRequestError("description must be at most 10,000 characters")
    base = (file_name or "").replace("\\", "/").rsplit("/", 1)[-1].strip()
    if not base or len(base) > 255:
        raise InvalidRequestError("the uploaded file needs a name of 1-255 characters")
    check_name(base, "file name", max_length=255)
    file_format(base)  # the type is known, or a clear error
    column = (target or "").strip() or None
    if column is not None and len(column) > 200:
        raise InvalidRequestError("target must be at most 200 characters")
    kind = check_dataset_type(dataset_type or "")
    if kind in ("ohlcv", "image") and column is not None:
        raise InvalidRequestError(f"an {kind} dataset has no target column; leave target out")
    if kind == "image" and file_format(base) != "zip":
        raise InvalidRequestError("an image dataset is a ZIP of one folder of PNG or JPEG images per class")
    return UploadRequest(clean, description or None, kind, base, column)


@dataclass(frozen=True, slots=True)
class DatasetView:
    """A dataset with its status, from its row and its processing job."""

    record: Dataset
    status: str
    progress: float
    error: str | None
    metadata: dict[str, Any] | None

    def as_dict(self, *, detail: bool = True) -> dict[str, Any]:
        row = self.record
        out: dict[str, Any] = {
            "id": row.id,
            "name": row.name,
            "description": row.description,
            "dataset_type": row.dataset_type,
            "file_name": row.file_name,
            "file_format": row.file_format,
            "file_size": row.file_size,
            "sha256": row.sha256,
            "uploaded_at": row.created_at.isoformat(),
            "status": self.status,
            "progress": round(self.progress, 1),
            "job_id": row.job_id,
            "user_id": row.user_id,
        }
        if self.error is not None:
            out["error"] = self.error
        if detail:
            out["metadata"] = self.metadata
        return out


@dataclass(frozen=True, slots=True)
class BarsSource:
    """An ``ohlcv`` dataset checked for use as bars: its id (the API functions take ``dataset_id``
    and read its stored table as source ``file``), timeframe and symbol."""

    dataset_id: str
    timeframe: str
    symbol: str


@dataclass(frozen=True, slots=True)
class DatasetPage:
    total: int
    page: int
    limit: int
    items: list[DatasetView]

    def as_dict(self) -> dict[str, Any]:
        return {
            "total": self.total,
            "page": self.page,
            "limit": self.limit,
            "pages": math.ceil(self.total / self.limit) if self.total else 0,
            "datasets": [v.as_dict(detail=False) for v in self.items],
        }


def _view(row: Dataset, job: Job | None) -> DatasetView:
    if job is None:  # its job row is gone (a database restored without it)
        return DatasetView(row, "failed", 0.0, "the dataset's processing job no longer exists", None)
    status = next(s for s, jobs in _JOB_STATUSES.items() if job.status in jobs)
    metadata = (job.result or {}).get("metadata") if status == "ready" else None
    error = job.error if status == "failed" else None
    return DatasetView(row, status, float(job.progress or 0.0), error, metadata)


class DatasetCatalog:
    """Uploads go through ``jobs`` for processing; reads join each dataset with its job."""

    def __init__(self, settings: Settings, database: Database, jobs: JobQueue) -> None:
        self.settings = settings
        self.database = database
        self.jobs = jobs
        self.files = DatasetFiles(settings.datasets_dir)

    def upload(self, user_id: str, request: UploadRequest, source: BinaryIO) -> DatasetView:
        """Store the file, queue its processing and record the dataset; nothing is left on failure."""
        with self.database.session() as session:
            self._check_name_free(session, user_id, request.name)
        row = Dataset(
            id=str(uuid.uuid4()),
            user_id=user_id,
            name=request.name,
            description=request.description,
            dataset_type=request.dataset_type,
            target=request.target,
            file_name=request.file_name,
            file_format=request.file_format,
        )
        saved = self.files.save_upload(
            row.id,
            source,
            file_suffix(request.file_name),
            max_bytes=self.settings.uploads.dataset_max_upload_mb * 1_000_000,
        )
        row.file_size, row.sha256 = saved.size, saved.sha256
        try:
            job = self.jobs.submit(
                DATASET_JOB,
                {
                    "dataset_id": row.id,
                    "name": request.name,
                    "file_name": request.file_name,
                    "file_format": request.file_format,
                    "dataset_type": request.dataset_type,
                    "target": request.target,
                },
                owner=user_id,
            )
        except BaseException:
            self.files.remove(row.id)
            raise
        row.job_id = job.id
        try:
            with self.database.transaction() as session:
                session.add(row)
        except IntegrityError as exc:
            self._abandon(row.id, job.id)
            if "name" in str(exc.orig):  # the unique (user, name): the same name uploaded at once
                raise ConflictError(f"you already have a dataset named {request.name!r}") from None
            raise
        except BaseException:
            self._abandon(row.id, job.id)
            raise
        return self.get(row.id, _Owner(user_id))

    def list(
        self,
        user_id: str | None,
        *,
        page: int = 1,
        limit: int = 10,
        sort_by: str = "created_at",
        order: str = "desc",
        dataset_type: str | None = None,
        status: str | None = None,
    ) -> DatasetPage:
        """One page of ``user_id``'s datasets (everyone's for ``None``: an admin asking)."""
        if page < 1:
            raise InvalidRequestError(f"page must be at least 1, got {page}")
        if not 1 <= limit <= MAX_PAGE_SIZE:
            raise InvalidRequestError(f"limit must be between 1 and {MAX_PAGE_SIZE}, got {limit}")
        if sort_by not in SORT_FIELDS:
            raise InvalidRequestError(
                f"unknown sort_by {sort_by!r}; expected one of: {', '.join(SORT_FIELDS)}"
            )
        if order not in ("asc", "desc"):
            raise InvalidRequestError(f"order must be asc or desc, got {order!r}")
        if status is not None and status not in DATASET_STATUSES:
            raise InvalidRequestError(
                f"unknown status {status!r}; expected one of: {', '.join(DATASET_STATUSES)}"
            )
        query = select(Dataset, Job).outerjoin(Job, Job.id == Dataset.job_id)
        if user_id is not None:
            query = query.where(Dataset.user_id == user_id)
        if dataset_type is not None:
            query = query.where(Dataset.dataset_type == check_dataset_type(dataset_type))
        if status is not None:
            wanted = Job.status.in_(_JOB_STATUSES[status])
            query = query.where(wanted | Job.id.is_(None) if status == "failed" else wanted)
        column = SORT_FIELDS[sort_by]
        key = column.asc() if order == "asc" else column.desc()
        with self.database.session() as session:
            total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
            rows = session.execute(
                query.order_by(key, Dataset.id).offset((page - 1) * limit).limit(limit)
            ).all()
            items = [_view(row, job) for row, job in rows]
        return DatasetPage(int(total), page, limit, items)

    def get(self, dataset_id: str, user: Requester) -> DatasetView:
        with self.database.session() as session:
            row = self._owned(session, dataset_id, user)
            job = session.get(Job, row.job_id) if row.job_id else None
            return _view(row, job)

    def bars_source(self, dataset_id: str, user: Requester, symbol: str) -> BarsSource:
        """The stored bars of a ready ``ohlcv`` dataset, as a ``file`` source for ``symbol`` (which
        must be the dataset's own symbol when it names one)."""
        view = self.get(dataset_id, user)
        row = view.record
        if row.dataset_type != "ohlcv":
            raise InvalidRequestError(
                f"dataset {row.name!r} is a {row.dataset_type} dataset; bars come from an ohlcv dataset"
            )
        if view.status == "processing":
            raise ConflictError(f"dataset {row.name!r} is still processing; wait until its status is ready")
        if view.status == "failed" or view.metadata is None:
            raise InvalidRequestError(f"dataset {row.name!r} failed processing: {view.error}")
        own = view.metadata.get("symbol")
        wanted = parse_symbol(symbol).name
        if own is not None and parse_symbol(str(own)).name != wanted:
            raise InvalidRequestError(f"dataset {row.name!r} holds {own} bars, not {wanted}")
        if not self.files.data_path(row.id).is_file():
            raise DataNotFoundError(f"dataset {row.name!r} has lost its stored bars; upload it again")
        return BarsSource(row.id, str(view.metadata["timeframe"]), wanted)

    def delete(self, dataset_id: str, user: Requester) -> None:
        """Delete the dataset and its files; processing still under way is cancelled first."""
        view = self.get(dataset_id, user)
        if view.status == "processing" and view.record.job_id:
            with contextlib.suppress(ConflictError):  # it finished meanwhile
                self.jobs.cancel(view.record.job_id, user)
        with self.database.transaction() as session:
            row = session.get(Dataset, dataset_id)
            if row is not None:
                session.delete(row)
        self.files.remove(dataset_id)

    def processed_event(self, data: Mapping[str, Any]) -> dict[str, Any] | None:
        """The ``dataset.processed`` webhook payload of a finished dataset job's event data; None
        when the dataset is gone (deleted, or its upload abandoned), which is then not announced."""
        job_id = str(data["task_id"])
        with self.database.session() as session:
            row = session.scalar(select(Dataset).where(Dataset.job_id == job_id))
            if row is None:
                return None
            view = _view(row, session.get(Job, job_id))
        payload: dict[str, Any] = {
            "dataset_id": row.id,
            "name": row.name,
            "job_id": job_id,
            "status": view.status,
        }
        if view.status == "ready":
            payload["metadata"] = view.metadata
        else:
            payload["error"] = view.error
        return payload

    # -- helpers -----------------------------------------------------------------------------------
    def _check_name_free(self, session: Session, user_id: str, name: str) -> None:
        taken = session.scalar(select(Dataset.id).where(Dataset.user_id == user_id, Dataset.name == name))
        if taken is not None:
            raise ConflictError(
                f"you already have a dataset named {name!r}; delete it or choose another name"
            )

    def _owned(self, session: Session, dataset_id: str, user: Requester) -> Dataset:
        row = session.get(Dataset, dataset_id)
        if row is None:
            raise DataNotFoundError(f"no dataset with id {dataset_id!r}")
        if row.user_id != user.id and not user.is_admin:
            raise PermissionDeniedError("this dataset belongs to another user")
        return row

    def _abandon(self, dataset_id: str, job_id: str) -> None:
        with contextlib.suppress(ConflictError):
            self.jobs.cancel(job_id, OPERATOR)
        self.files.remove(dataset_id)


@dataclass(frozen=True, slots=True)
class _Owner:
    """A ``Requester`` for the catalogue's own calls to the job queue."""

    user_id: str | None
    admin: bool = False

    @property
    def id(self) -> str:
        return self.user_id or ""

    @property
    def is_admin(self) -> bool:
        return self.admin


OPERATOR = _Owner(None, admin=True)
"""The requester of the catalogue's own clean-up and of the CLI (an operator of the machine)."""
