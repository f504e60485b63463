"""/api/models/ and /api/models/{model_name}: the registered models as a catalogue (type, symbol,
timeframe, steps ahead, size, training time, train/val performance), read from the model registry.

Anonymous callers are served; credentials, when sent, are still checked and the caller recorded, and
every call counts against the caller's (or the address's) rate limit.
"""

from __future__ import annotations

from litestar import Controller, get
from litestar.params import FromPath

from pipelines.models.summaries import catalogue_model, model_catalogue
from serving.providers.models import MODELS, ModelsDep
from serving.responses import botapi as b
from serving.responses import shaped
from serving.schemas import botapi_examples as bx
from serving.schemas import doc

__all__ = ["BotModelController"]

_PUBLIC = {"public": True}


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
        resolver = models.predictions.resolver
        row = catalogue_model(
            lambda refresh: resolver.summaries(refresh=refresh), models.registry.tracker, model_name
        )
        return shaped(b.CatalogueModel, row)
