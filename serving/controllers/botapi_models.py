"""/api/models/ and /api/models/{model_name}: the registered models as a catalogue (type, symbol,
timeframe, steps ahead, size, training time, train/val performance), read from the model registry;
POST /api/models/train: an N-step OHLC forecaster trained at once, or queued when resources are short.

The catalogue serves anonymous callers; credentials, when sent, are still checked and the caller
recorded, and every call counts against the caller's (or the address's) rate limit. Training needs a
signed-in caller.
"""

from __future__ import annotations

from typing import Annotated

import msgspec
from litestar import Controller, Response, get, post
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import Example
from litestar.params import Body, FromPath
from litestar.status_codes import HTTP_200_OK, HTTP_202_ACCEPTED

from pipelines.app.forecast import MAX_DAYS_HISTORY, MAX_STEPS, forecaster_training
from pipelines.app.forecast_jobs import train_or_queue
from pipelines.models.summaries import catalogue_model, model_catalogue
from serving.context import PrincipalDep
from serving.providers.models import MODELS, ModelsDep, ModelsProvider
from serving.responses import botapi as b
from serving.responses import shaped
from serving.schemas import botapi_examples as bx
from serving.schemas import doc

__all__ = ["BotModelController", "BotTrain"]

_PUBLIC = {"public": True}
_TRAIN = (
    "Trains `{SYMBOL}_{timeframe}_{n_steps_ahead}steps_multi_ohlc` (a multi_ohlc forecaster of the "
    f"next `n_steps_ahead` bars, 1 to {MAX_STEPS}) on the last `days_history` days of bars (1 to "
    f"{MAX_DAYS_HISTORY}, within the bars-per-request limit) and answers it as `GET /api/models/"
    "{model_name}` does. When the job queue would not start a training job now (RAM or CPU short, "
    "workers busy, earlier jobs waiting) it is queued as one instead: 202 with its `task_id`, "
    "`queue_position` and the `reason`. Only the model's owner (its first trainer) or an admin "
    "trains a new version of it (403 otherwise); 409 while it is being trained."
)
_QUEUED = ResponseSpec(
    data_container=b.TrainingQueued,
    description="Queued: resources are short now",
    generate_examples=False,
    examples=[Example(summary="queued", value=bx.TRAINING_QUEUED)],
)


class BotTrain(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    symbol: Annotated[str, msgspec.Meta(examples=["ETH_USDT"])]
    timeframe: Annotated[str, msgspec.Meta(examples=["1m"])]
    n_steps_ahead: int | None = None  # None: the configured forecast_steps
    days_history: int | None = None  # None: enough for the steps, at least forecast_days_history


class BotModelController(Controller):
    path = "/api/models"
    tags = ["models"]
    dependencies = MODELS

    @get(
        "/",
        opt=_PUBLIC,
        summary="Catalogue of the registered models",
        description="One row per registered model, of its champion version (else its latest): "
        "`model_size_kb` is the size of its model folder in the registry.",
        responses=doc(bx.CATALOGUE, 401),
        sync_to_thread=True,
    )
    def list_catalogue(self, models: ModelsDep) -> list[b.CatalogueModel]:
        rows = model_catalogue(models.predictions.resolver.summaries(), models.registry.tracker)
        return [shaped(b.CatalogueModel, row) for row in rows]

    @get(
        "/{model_name:str}",
        opt=_PUBLIC,
        summary="One registered model of the catalogue",
        responses=doc(bx.CATALOGUE_MODEL, 400, 401, 404),
        sync_to_thread=True,
    )
    def get_catalogue_model(self, models: ModelsDep, model_name: FromPath[str]) -> b.CatalogueModel:
        return _row(models, model_name)

    @post(
        "/train",
        status_code=HTTP_200_OK,
        summary="Train an N-step OHLC forecaster (or queue it when resources are short)",
        description=_TRAIN,
        responses={**doc(bx.CATALOGUE_MODEL, 400, 401, 403, 404, 409), HTTP_202_ACCEPTED: _QUEUED},
        sync_to_thread=True,
    )
    def train(
        self,
        models: ModelsDep,
        principal: PrincipalDep,
        data: Annotated[BotTrain, Body(examples=[Example(summary="a 1m forecaster", value=bx.TRAIN)])],
    ) -> Response[b.CatalogueModel | b.TrainingQueued]:
        forecast = models.settings.forecast
        query = forecaster_training(
            models.settings,
            data.symbol,
            data.timeframe,
            forecast.forecast_steps if data.n_steps_ahead is None else data.n_steps_ahead,
            data.days_history,  # None: enough days for the steps, at least forecast_days_history
        )
        owners, actor = models.ownership(principal)
        outcome = train_or_queue(models.predictions, models.jobs, models.training, owners, actor, query)
        if outcome["status"] != "trained":
            return Response(shaped(b.TrainingQueued, outcome), status_code=HTTP_202_ACCEPTED)
        return Response(_row(models, outcome["model_name"]))


def _row(models: ModelsProvider, name: str) -> b.CatalogueModel:
    resolver = models.predictions.resolver
    row = catalogue_model(lambda refresh: resolver.summaries(refresh=refresh), models.registry.tracker, name)
    return shaped(b.CatalogueModel, row)
