"""/datasets: upload a file (processed by a job), list, read and delete them.

The routes sit under a router made per app (``dataset_router``) so that the upload's size limit is
the app's setting, not Litestar's 10 MB default for every body.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, BinaryIO, Literal, TypeAlias, cast

from litestar import Controller, Router, delete, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath, Parameter
from litestar.status_codes import HTTP_201_CREATED, HTTP_204_NO_CONTENT

from pipelines.app.datasets import DATASET_STATUSES, SORT_FIELDS, check_upload
from pipelines.settings import Settings
from serving.context import PrincipalDep
from serving.dto import MAX_PAGE, one_of
from serving.providers.datasets import DATASETS, DatasetsDep
from serving.responses import datasets as dr
from serving.responses import shaped
from serving.schemas import datasets as d
from serving.schemas import doc

__all__ = ["DatasetController", "dataset_router"]

if TYPE_CHECKING:
    SortField: TypeAlias = str
    DatasetStatus: TypeAlias = str
else:
    SortField = one_of(SORT_FIELDS)  # the spec lists what the server accepts
    DatasetStatus = one_of(DATASET_STATUSES)

# The multipart framing around the file: the form's other fields and part headers.
_FORM_OVERHEAD = 1 << 20


class DatasetController(Controller):
    path = "/"
    tags = ["datasets"]
    dependencies = DATASETS

    @post(
        "/upload",
        status_code=HTTP_201_CREATED,
        summary="Upload a dataset (CSV, JSON, Parquet or ZIP); it is processed by a job",
        description=(
            "Multipart form: `file`, `name`, `dataset_type` (classification, regression, ohlcv, or "
            "image: a ZIP of one folder of PNG or JPEG images per class, resized to the server's image "
            "size), "
            "optional `description` and `target` (the target column; else one named target, label, y "
            "or class, else the last column). The answer has `status: processing` and the `job_id` to "
            "follow (GET /api/v1/jobs/{job_id}, /api/system/task-events); the `dataset.processed` "
            "webhook fires when it is ready or has failed."
        ),
        responses=doc(d.DATASET, 400, 401, 409, 413, status=201, description="Accepted"),
        sync_to_thread=True,
    )
    def upload(
        self,
        datasets: DatasetsDep,
        principal: PrincipalDep,
        data: Annotated[d.UploadForm, Body(media_type=RequestEncodingType.MULTI_PART)],
    ) -> dr.Dataset:
        try:
            request = check_upload(
                name=data.name,
                description=data.description,
                dataset_type=data.dataset_type,
                file_name=data.file.filename,
                target=data.target,
            )
            view = datasets.upload(principal.user_id, request, cast(BinaryIO, data.file.file))
        finally:
            data.file.file.close()
        return shaped(dr.Dataset, view.as_dict(detail=False))

    @get(
        "/",
        summary="Your datasets, a page at a time (an admin sees all)",
        responses=doc(d.DATASETS, 400, 401),
        sync_to_thread=True,
    )
    def list_datasets(
        self,
        datasets: DatasetsDep,
        principal: PrincipalDep,
        page: int = Parameter(default=1, ge=1, le=MAX_PAGE),
        limit: int = Parameter(default=10, ge=1, le=100),
        sort_by: Annotated[SortField, Parameter()] = "created_at",
        order: Annotated[Literal["asc", "desc"], Parameter()] = "desc",
        dataset_type: str | None = Parameter(
            default=None, description="classification, regression, ohlcv, image"
        ),
        status: Annotated[DatasetStatus | None, Parameter()] = None,
    ) -> dr.DatasetList:
        return shaped(
            dr.DatasetList,
            datasets.list(
                principal.scope_user_id,
                page=page,
                limit=limit,
                sort_by=sort_by,
                order=order,
                dataset_type=dataset_type,
                status=status,
            ).as_dict(),
        )

    @get(
        "/{dataset_id:str}",
        summary="A dataset, with its metadata once it is ready",
        responses=doc(d.DATASET_DETAIL, 400, 401, 403, 404),
        sync_to_thread=True,
    )
    def get_dataset(
        self, datasets: DatasetsDep, principal: PrincipalDep, dataset_id: FromPath[str]
    ) -> dr.DatasetDetail:
        return shaped(dr.DatasetDetail, datasets.get(dataset_id, principal).as_dict())

    @delete(
        "/{dataset_id:str}",
        status_code=HTTP_204_NO_CONTENT,
        summary="Delete a dataset and its files (processing under way is cancelled)",
        responses={k: v for k, v in doc(d.DATASET_DETAIL, 400, 401, 403, 404).items() if k != 200},
        sync_to_thread=True,
    )
    def delete_dataset(
        self, datasets: DatasetsDep, principal: PrincipalDep, dataset_id: FromPath[str]
    ) -> None:
        datasets.delete(dataset_id, principal)


def dataset_router(settings: Settings) -> Router:
    """The /datasets routes, accepting a body as large as the app's upload limit (plus the form)."""
    return Router(
        path="/datasets",
        route_handlers=[DatasetController],
        request_max_body_size=settings.uploads.dataset_max_upload_mb * 1_000_000 + _FORM_OVERHEAD,
    )
