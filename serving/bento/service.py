"""The inference tier: a BentoML service that loads registered models from the MLflow registry of the
configured home (``TRADEFORGE_HOME``, ``MLFLOW_TRACKING_URI``) and answers model calls.

``POST /predict`` takes ``{"calls": [{"model", "ref", "shape", "data"}]}`` (``ref``: a version number or
an alias; ``data``: base64 of the little-endian float64 feature matrix, rows x the columns the model
reads) and answers one ``{"model", "version", "shape", "data", "error", "code"}`` per call, the raw
outputs encoded the same way, so they decode bit for bit. Single-row calls arriving together are
batched by BentoML (adaptive batching) and rows of one tree model are predicted at once. An alias
(champion) is checked again every ``TRADEFORGE_INFERENCE_ALIAS_SECONDS``. ``/readyz`` fails until the
registry has opened and the champions
are loaded; ``/livez`` and Prometheus ``/metrics`` come with BentoML.

Serve it from the repository root: ``bentoml serve serving.bento.service:TradeforgeInference``.
"""

from __future__ import annotations

import logging
import threading
from typing import Annotated

import bentoml
from bentoml.validators import ContentType
from pydantic import BaseModel, Field

from pipelines.errors import InvalidRequestError
from pipelines.models.registry import ModelRegistry
from pipelines.models.tracking import open_tracker
from pipelines.prediction.served import ModelAnswer, ModelCall, ServedModels
from pipelines.prediction.wire import decode_matrix, encode_matrix
from pipelines.settings import Settings, get_settings

__all__ = ["CallAnswer", "CallRequest", "TradeforgeInference"]

log = logging.getLogger("tradeforge.inference")


class CallRequest(BaseModel):
    """One model call: a registered model, its version (or alias), and its feature matrix."""

    model: str = Field(min_length=1, max_length=200, description="Registered model name.")
    ref: str = Field(default="champion", max_length=50, description="A version number or an alias.")
    shape: list[int] = Field(description="Rows and columns of the matrix (or its length).")
    data: str = Field(description="Base64 of the matrix's little-endian float64 values, row by row.")


class CallAnswer(BaseModel):
    """The model's raw outputs, or why the call failed."""

    model: str
    version: str | None = Field(default=None, description="The version that answered.")
    shape: list[int] = Field(default_factory=list)
    data: str = ""
    error: str | None = None
    code: str | None = None


def _open_models(settings: Settings) -> ServedModels:
    """The registry, with every champion loaded (so first calls and the batcher's first timings are
    not a model load); a champion that fails to load is logged and loaded again when called."""
    tracker = open_tracker(settings)
    cache = settings.models_cache_dir.with_name(settings.models_cache_dir.name + "-inference")
    models = ServedModels(ModelRegistry(tracker, cache), settings.inference.inference_alias_seconds)
    for name, versions in tracker.list_models():
        if any("champion" in v.aliases for v in versions):
            try:
                models.load(name, "champion")
            except Exception as exc:
                log.warning("champion of %s not loaded: %s", name, exc)
    return models


# The media type said once: BentoML otherwise derives it from the answer type's JSON schema on every
# response (a third of the service's CPU per call).
_Answers = Annotated[list[CallAnswer], ContentType("application/json")]


def _render(answer: ModelAnswer) -> CallAnswer:
    if answer.out is None:
        return CallAnswer(model=answer.model, version=answer.version, error=answer.error, code=answer.code)
    return CallAnswer(model=answer.model, version=answer.version, **encode_matrix(answer.out))


# No access log line per call: the API logs the requests that made them (request and prediction log).
@bentoml.service(name="tradeforge-inference", traffic={"timeout": 60}, logging={"access": {"enabled": False}})
class TradeforgeInference:
    def __init__(self) -> None:
        self._models: ServedModels | None = None
        self._stop = threading.Event()
        settings = get_settings()
        threading.Thread(target=self._open, args=(settings,), name="open-registry", daemon=True).start()

    def _open(self, settings: Settings) -> None:
        """Opens the registry in the background (retrying while it is unreachable): the server
        starts at once and answers /readyz with 503 until then."""
        wait = 0.5
        while self._models is None and not self._stop.is_set():
            try:
                self._models = _open_models(settings)
            except Exception as exc:
                log.warning("model registry not open yet (%s); retrying in %.1f s", exc, wait)
                self._stop.wait(wait)
                wait = min(wait * 2, 10.0)

    @bentoml.on_shutdown
    def close(self) -> None:
        self._stop.set()

    def __is_ready__(self) -> bool:
        return self._models is not None

    @bentoml.api(batchable=True, max_batch_size=256, max_latency_ms=1000)
    def predict(self, calls: list[CallRequest]) -> _Answers:
        models = self._models
        if models is None:
            raise bentoml.exceptions.ServiceUnavailable("the model registry is not open yet")
        decoded: list[ModelCall | CallAnswer] = []
        for c in calls:
            try:
                decoded.append(ModelCall(c.model, c.ref, decode_matrix(c.shape, c.data)))
            except InvalidRequestError as exc:
                decoded.append(CallAnswer(model=c.model, error=str(exc), code=exc.code))
        good = [d for d in decoded if isinstance(d, ModelCall)]
        answers = iter(models.answer(good))
        return [d if isinstance(d, CallAnswer) else _render(next(answers)) for d in decoded]
