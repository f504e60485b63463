"""The API's model calls sent to the BentoML inference service (``serving/bento``) when
``TRADEFORGE_INFERENCE_URL`` is set: one pooled HTTP client, a timeout per call, retries of calls the
service did not answer (they are idempotent), and a 503 SERVICE_UNAVAILABLE naming the inference
service when it stays down. The API computes the features; the service only runs the model."""

from __future__ import annotations

import logging
import time
from typing import Any

import httpx

from pipelines.errors import BusyError, ModelError
from pipelines.models.base import FloatMatrix
from pipelines.models.registry import LoadedModel
from pipelines.prediction.wire import decode_matrix, encode_matrix
from pipelines.settings import Settings

__all__ = ["CALL_PATH", "HttpModelCaller", "InferenceUnavailableError", "model_caller"]

log = logging.getLogger("tradeforge.serving")

CALL_PATH = "/predict"  # the service's batchable model-call endpoint
_RETRY_STATUS = frozenset({502, 503, 504})


class InferenceUnavailableError(BusyError):
    """The inference service did not answer a model call after its retries (down, overloaded)."""


class HttpModelCaller:
    """Calls the registered version the API resolved (by number, so features and model agree)."""

    def __init__(self, url: str, *, timeout: float = 10.0, retries: int = 2, pool: int = 64) -> None:
        self.url = url.rstrip("/")
        self.retries = retries
        self._client = httpx.Client(
            base_url=self.url,
            timeout=httpx.Timeout(timeout, connect=min(timeout, 2.0)),
            limits=httpx.Limits(max_connections=pool, max_keepalive_connections=pool),
        )

    def __call__(self, loaded: LoadedModel, x: FloatMatrix) -> FloatMatrix:
        body = {"calls": [{"model": loaded.name, "ref": loaded.version, **encode_matrix(x)}]}
        answers = self._post(body)
        if not isinstance(answers, list) or len(answers) != 1 or not isinstance(answers[0], dict):
            raise ModelError(f"the inference service at {self.url} sent a malformed answer")
        answer = answers[0]
        if answer.get("error"):
            raise ModelError(f"the inference service could not call {loaded.name!r}: {answer['error']}")
        if str(answer.get("version")) != loaded.version:
            raise ModelError(
                f"the inference service answered with {loaded.name!r} v{answer.get('version')}, "
                f"not v{loaded.version}"
            )
        return decode_matrix(answer.get("shape"), answer.get("data"))

    def _post(self, body: dict[str, Any]) -> Any:
        problem = ""
        for attempt in range(self.retries + 1):
            if attempt:
                time.sleep(min(0.05 * 2**attempt, 1.0))
            try:
                response = self._client.post(CALL_PATH, json=body)
            except httpx.TransportError as exc:  # refused, reset, timed out
                problem = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
                continue
            if response.status_code in _RETRY_STATUS:
                problem = f"HTTP {response.status_code}"
                continue
            if response.status_code != 200:
                raise ModelError(
                    f"the inference service at {self.url} refused a model call: HTTP "
                    f"{response.status_code} {response.text[:200]}"
                )
            return response.json()
        log.warning("inference service %s unavailable: %s", self.url, problem)
        raise InferenceUnavailableError(
            f"the inference service at {self.url} is unavailable ({problem}) after "
            f"{self.retries + 1} attempts; try again shortly"
        )

    def close(self) -> None:
        self._client.close()


def model_caller(settings: Settings) -> HttpModelCaller | None:
    """The HTTP caller when an inference service is configured, else None (models predict in process)."""
    group = settings.inference
    if not group.inference_url:
        return None
    return HttpModelCaller(
        group.inference_url,
        timeout=group.inference_timeout_seconds,
        retries=group.inference_retries,
        pool=group.inference_pool_size,
    )
