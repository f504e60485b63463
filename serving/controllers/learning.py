"""The training platform: /training (start, status, results, stop) and /models (list, read,
delete, predict), at the root beside /datasets.

The routes sit under routers made per app (``learning_routers``) so that their bodies are bounded:
a start request is small; a prediction batch is bounded by the app's row limit (and its size).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, TypeAlias

from litestar import Controller, Router, delete, get, post
from litestar.params import FromPath, Parameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED, HTTP_204_NO_CONTENT

from pipelines.app.learned_models import MODEL_SORTS
from pipelines.settings import Settings
from serving.context import PrincipalDep
from serving.dto import MAX_PAGE, one_of
from serving.providers.learning import TRAINED_MODELS, TRAINING, TrainedModelsDep, TrainingDep
from serving.responses import learning as lr
from serving.responses import shaped
from serving.schemas import doc
from serving.schemas import learning as ls

__all__ = ["TrainedModelController", "TrainingController", "learning_routers"]

if TYPE_CHECKING:
    ModelSort: TypeAlias = str
else:
    ModelSort = one_of(MODEL_SORTS)

_START_BODY = 64 * 1024
_PREDICT_ROW_BYTES = 2048  # a row of numbers as JSON, generously; a base64 image row is bounded apart


class TrainingController(Controller):
    path = "/"
    tags = ["training"]
    dependencies = TRAINING

    @post(
        "/start",
        status_code=HTTP_201_CREATED,
        summary="Start training a model type on one of your ready datasets (a job)",
        description=(
            "Everything is checked before the job is queued: an unknown `model_type` is a 400 listing "
            "the known ones; rejected hyperparameters are a 400 with each field in `details`. Progress: "
            "GET /training/status/{job_id}, /api/system/task-events and the `training.*` webhooks. A "
            "user has at most `TRADEFORGE_MAX_TRAINING_JOBS_PER_USER` (5) trainings queued or running "
            "(429 beyond)."
        ),
        responses=doc(ls.STARTED, 400, 401, 404, 409, status=201, description="Queued"),
        sync_to_thread=True,
    )
    def start(
        self, training: TrainingDep, principal: PrincipalDep, data: ls.StartRequest
    ) -> lr.TrainingStarted:
        return shaped(lr.TrainingStarted, training.start(principal, data.as_request()))

    @get(
        "/status/{job_id:str}",
        summary="A training's status: progress, epoch, latest metrics, elapsed time",
        responses=doc(ls.STATUS, 400, 401, 404),
        sync_to_thread=True,
    )
    def status(
        self, training: TrainingDep, principal: PrincipalDep, job_id: FromPath[str]
    ) -> lr.TrainingStatus:
        return shaped(lr.TrainingStatus, training.status(job_id, principal))

    @get(
        "/results/{job_id:str}",
        summary="A completed training's results: model id, final metrics, history (409 before)",
        responses=doc(ls.RESULTS, 400, 401, 404, 409),
        sync_to_thread=True,
    )
    def results(
        self, training: TrainingDep, principal: PrincipalDep, job_id: FromPath[str]
    ) -> lr.TrainingResults:
        return shaped(lr.TrainingResults, training.results(job_id, principal))

    @post(
        "/stop/{job_id:str}",
        status_code=HTTP_200_OK,
        summary="Stop a queued or running training now (nothing is registered); 409 once finished",
        responses=doc(ls.STOPPED, 400, 401, 404, 409),
        sync_to_thread=True,
    )
    def stop(
        self, training: TrainingDep, principal: PrincipalDep, job_id: FromPath[str]
    ) -> lr.TrainingStopped:
        return shaped(lr.TrainingStopped, training.stop(job_id, principal))


class TrainedModelController(Controller):
    path = "/"
    tags = ["training"]
    dependencies = TRAINED_MODELS

    @get(
        "/",
        summary="Your trained models, a page at a time (an admin sees all)",
        responses=doc(ls.MODELS, 400, 401),
        sync_to_thread=True,
    )
    def list_models(
        self,
        trained: TrainedModelsDep,
        principal: PrincipalDep,
        page: int = Parameter(default=1, ge=1, le=MAX_PAGE),
        limit: int = Parameter(default=10, ge=1, le=100),
        model_type: str | None = Parameter(default=None, max_length=64),
        sort_by: Annotated[ModelSort, Parameter()] = "created_at",
    ) -> lr.ModelList:
        answer = trained.list(principal, page=page, limit=limit, model_type=model_type, sort_by=sort_by)
        return shaped(lr.ModelList, answer)

    @get(
        "/{model_id:str}",
        summary="A trained model: architecture, performance, training configuration",
        responses=doc(ls.MODEL, 400, 401, 404),
        sync_to_thread=True,
    )
    def get_model(
        self, trained: TrainedModelsDep, principal: PrincipalDep, model_id: FromPath[str]
    ) -> lr.ModelDetail:
        return shaped(lr.ModelDetail, trained.get(model_id, principal))

    @delete(
        "/{model_id:str}",
        status_code=HTTP_204_NO_CONTENT,
        summary="Delete a trained model: its registered model and files",
        responses={k: v for k, v in doc(ls.MODEL, 400, 401, 404).items() if k != 200},
        sync_to_thread=True,
    )
    def delete_model(
        self, trained: TrainedModelsDep, principal: PrincipalDep, model_id: FromPath[str]
    ) -> None:
        trained.delete(model_id, principal)

    @post(
        "/{model_id:str}/predict",
        status_code=HTTP_200_OK,
        summary="Predict with a trained model: one row (`input`) or many (`inputs`)",
        description=(
            "Classifiers answer the dataset's own label as `class` with its `confidence` (0-1); regressors "
            "a `value`. Image models take base64-encoded images. A row of the wrong width, a value that is "
            "not a number, or more rows than `TRADEFORGE_MAX_PREDICT_BATCH` is a 400 saying which."
        ),
        responses=doc(ls.PREDICTED, 400, 401, 404, 413),
        sync_to_thread=True,
    )
    def predict(
        self,
        trained: TrainedModelsDep,
        principal: PrincipalDep,
        model_id: FromPath[str],
        data: ls.PredictRequest,
    ) -> lr.Predictions:
        return shaped(lr.Predictions, trained.predict(model_id, principal, data.rows()))


def learning_routers(settings: Settings) -> list[Router]:
    """/training and /models, each body bounded: a start request is small; a prediction batch holds
    at most the app's row limit (image rows are bounded by the same total)."""
    predict_bytes = max(1 << 20, settings.learning.max_predict_batch * _PREDICT_ROW_BYTES)
    return [
        Router(path="/training", route_handlers=[TrainingController], request_max_body_size=_START_BODY),
        Router(path="/models", route_handlers=[TrainedModelController], request_max_body_size=predict_bytes),
    ]
