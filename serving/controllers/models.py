"""/api/v1/models: catalogue (filters and pagination; count), detail, train, delete, reload."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, TypeAlias

from litestar import Controller, Response, delete, get, post
from litestar.params import FromPath, Parameter
from litestar.status_codes import HTTP_200_OK, HTTP_202_ACCEPTED

from pipelines.app.train import api_train, describe_model, summary_row, training_target
from pipelines.errors import TradeforgeError
from pipelines.models.summaries import CATEGORY_SPELLINGS, STATUSES, query_models
from serving.context import Principal, PrincipalDep
from serving.controllers.jobs import submit_job
from serving.dto import MAX_PAGE, job_params, one_of
from serving.providers.models import MODELS, ModelsDep, ModelsProvider
from serving.responses import admin as a
from serving.responses import shaped
from serving.responses.jobs import JobAccepted
from serving.schemas import admin_examples as ex
from serving.schemas import doc
from serving.schemas.jobs import accepted_doc
from serving.schemas.requests import TrainBody

__all__ = ["ModelController"]

if TYPE_CHECKING:
    ModelCategory: TypeAlias = str
    ModelStatus: TypeAlias = str
else:
    ModelCategory = one_of(CATEGORY_SPELLINGS)
    ModelStatus = one_of(STATUSES)
_OWNERSHIP = (
    " Only the model's owner (the user who first trained that name through the API) or an admin may"
    " do this; a model registered before owners were recorded, or trained by the CLI or Dagster, is"
    " owned by no user and only an admin may change it through the API. Others get 403 FORBIDDEN."
)


class ModelController(Controller):
    path = "/api/v1/models"
    tags = ["models"]
    dependencies = MODELS

    @get(
        "/",
        summary="List registered models (filters: category, status; pagination)",
        responses=doc(ex.MODEL_LIST, 400, 401),
        sync_to_thread=True,
    )
    def list_models(
        self,
        models: ModelsDep,
        category: Annotated[
            ModelCategory | None, Parameter(description="Only models of this category")
        ] = None,
        status: Annotated[ModelStatus | None, Parameter(description="Only models in this status")] = None,
        page: int = Parameter(default=1, ge=1, le=MAX_PAGE),
        limit: int = Parameter(default=20, ge=1, le=500),
    ) -> a.ModelList:
        summaries = models.predictions.resolver.summaries()
        rows, pagination = query_models(
            summaries,
            category=category,
            status=status,
            page=page,
            limit=limit,
            training=models.training.active(),
        )
        loaded = {m.name for m in models.registry.loaded()}
        listed = [summary_row(s, st, s.name in loaded) for s, st in rows]
        return shaped(a.ModelList, {"models": listed, "count": len(listed), "pagination": pagination})

    @post(
        "/train",
        status_code=HTTP_200_OK,
        summary="Train, register and promote a model",
        description="Trains a new version of `model_name` (or of `{model_type}_{symbol}_{timeframe}`), "
        "registers it and moves its `champion` alias when it beats the current one on the later of their "
        "two validation windows (or when `force` is true). The first trainer"
        " of a new name owns it." + _OWNERSHIP,
        responses={**doc(ex.TRAINED, 400, 401, 403, 404, 409), **accepted_doc()},
        sync_to_thread=True,
    )
    def train(
        self, models: ModelsDep, data: TrainBody, principal: PrincipalDep
    ) -> Response[a.Trained | JobAccepted]:
        owners, actor = models.ownership(principal)
        *_, name = training_target(
            data.model_type, data.model_name, data.symbol, data.dataset, data.timeframe
        )
        # Checked (and a new name claimed) before anything runs; a queued job checks again when it runs.
        with owners.training(name, actor):
            if data.run_async:
                job = submit_job(models.jobs, "training", job_params(data), principal)
                return Response(job, status_code=HTTP_202_ACCEPTED)
            return Response(shaped(a.Trained, _train_now(models, data, principal, name)))

    @get(
        "/{model_name:str}",
        summary="One model: versions, metrics, device, status",
        responses=doc(ex.MODEL_DETAIL, 400, 401, 404),
        sync_to_thread=True,
    )
    def get_model(self, models: ModelsDep, model_name: FromPath[str]) -> a.ModelDetail:
        loaded = {m.version for m in models.registry.loaded() if m.name == model_name}
        return shaped(
            a.ModelDetail, describe_model(models.registry.tracker, model_name, loaded_versions=loaded)
        )

    @delete(
        "/{model_name:str}",
        status_code=HTTP_200_OK,
        summary="Delete a model (its owner or an admin)",
        description="Deletes the registered model and all its versions." + _OWNERSHIP,
        responses=doc(ex.MODEL_DELETED, 400, 401, 403, 404),
        sync_to_thread=True,
    )
    def delete_model(
        self, models: ModelsDep, model_name: FromPath[str], principal: PrincipalDep
    ) -> a.ModelDeleted:
        owners, actor = models.ownership(principal)
        owners.delete(model_name, actor)
        models.predictions.reload(model_name)
        return shaped(
            a.ModelDeleted,
            {"status": "success", "model_name": model_name, "message": f"Model {model_name} deleted"},
        )

    @post(
        "/{model_name:str}/reload",
        status_code=HTTP_200_OK,
        summary="Reload from the registry (its owner or an admin)",
        description="Forgets the loaded versions of the model and loads its champion afresh." + _OWNERSHIP,
        responses=doc(ex.MODEL_RELOADED, 400, 401, 403, 404),
        sync_to_thread=True,
    )
    def reload_model(
        self, models: ModelsDep, model_name: FromPath[str], principal: PrincipalDep
    ) -> a.ModelReloaded:
        owners, actor = models.ownership(principal)
        owners.require(model_name, actor, "reload")
        models.predictions.reload(model_name)
        loaded = models.registry.load(model_name)
        return shaped(
            a.ModelReloaded,
            {
                "status": "success",
                "model_name": model_name,
                "version": loaded.version,
                "aliases": list(loaded.aliases),
                "load_seconds": round(loaded.load_seconds, 4),
                "message": f"Model {model_name} v{loaded.version} reloaded",
            },
        )


def _train_now(models: ModelsProvider, data: TrainBody, principal: Principal, name: str) -> dict[str, Any]:
    """Trains under the model's training claim (409 CONFLICT while any worker trains it)."""
    event = {"model_type": data.model_type, "model_name": data.model_name, "symbol": data.symbol}
    with models.training.hold(name):
        answer = _train_claimed(models, data, principal, event)
    models.predictions.reload(answer["model_name"])
    for done in ("training.finished", "training.completed"):  # both client styles' names for it
        models.publish(done, answer, principal.user_id)
    return answer


def _train_claimed(
    models: ModelsProvider, data: TrainBody, principal: Principal, event: dict[str, Any]
) -> dict[str, Any]:
    try:
        models.publish("training.started", event, principal.user_id)
        answer = api_train(
            models.settings,
            models.registry.tracker,
            models.registry,
            model_type=data.model_type,
            model_name=data.model_name,
            symbol=data.symbol,
            dataset=data.dataset,
            start_date=data.start_date,
            end_date=data.end_date,
            timeframe=data.timeframe,
            source=data.source,
            parameters=data.parameters,
            validation_split=data.validation_split,
            gpu_enabled=data.gpu_enabled,
            horizon=data.horizon,
            feature_set=data.feature_set,
            force=data.force,
        )
    except TradeforgeError as exc:
        models.publish("training.failed", {**event, "error": str(exc), "code": exc.code}, principal.user_id)
        raise
    return answer
