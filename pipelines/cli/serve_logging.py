"""uvicorn's logging for ``tradeforge serve``, with credentials masked: a WebSocket opened with
``?api_key=`` or ``?token=`` (the browser's only way to authenticate one) would otherwise have its
key printed in clear in every "WebSocket ... [accepted]" and access line."""

from __future__ import annotations

import copy
import logging
from typing import Any

from pipelines.redaction import redact_query_values

__all__ = ["RedactCredentials", "uvicorn_log_config"]


class RedactCredentials(logging.Filter):
    """Masks sensitive query values (``api_key=``, ``token=``, ``access_token=``...) in a record's
    message and arguments, keeping the arguments' shape (uvicorn's access formatter unpacks them)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact_query_values(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(redact_query_values(a) if isinstance(a, str) else a for a in record.args)
        return True


def uvicorn_log_config() -> dict[str, Any]:
    """uvicorn's default logging configuration with ``RedactCredentials`` on every handler."""
    from uvicorn.config import LOGGING_CONFIG

    config: dict[str, Any] = copy.deepcopy(LOGGING_CONFIG)
    config.setdefault("filters", {})["redact_credentials"] = {"()": f"{__name__}.RedactCredentials"}
    for handler in config["handlers"].values():
        handler.setdefault("filters", []).append("redact_credentials")
    return config
