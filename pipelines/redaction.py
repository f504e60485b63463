"""Credentials out of what is shown or logged: URL passwords and sensitive query parameter values."""

from __future__ import annotations

import re
from urllib.parse import urlsplit, urlunsplit

__all__ = ["MASK", "redact_query_values", "redact_url"]

MASK = "***"
# A query parameter whose name holds one of these words carries a credential: password, passwd,
# pwd, secret, token (access_token, refresh_token), key (api_key, sslkey), signature, credential.
_SENSITIVE_PARAM = re.compile(
    r"(?i)(?P<name>(?:^|(?<=[?&;]))[^=&;?\s\"#]*?(?:pass(?:word|wd)?|pwd|secret|token|key|signature|credential)"
    r"[^=&;?\s\"#]*=)(?P<value>[^&;\s\"#]*)"
)


def redact_query_values(text: str) -> str:
    """``text`` (a query string, a path with its query, or a log line holding one) with the value
    of every sensitive query parameter masked: ``/ws?api_key=tf_abc&x=1`` -> ``/ws?api_key=***&x=1``."""
    if "=" not in text:
        return text
    return _SENSITIVE_PARAM.sub(lambda m: m["name"] + MASK if m["value"] else m[0], text)


def redact_url(url: str) -> str:
    """The URL without its password nor credential query parameters, fit for messages and logs."""
    parts = urlsplit(url)
    shown = url  # reassembled only where something is masked (urlunsplit drops sqlite:///'s empty host)
    if parts.password is not None:
        netloc = f"{parts.username or ''}:{MASK}@{parts.hostname or ''}"
        if parts.port is not None:
            netloc += f":{parts.port}"
        shown = urlunsplit(parts._replace(netloc=netloc))
    if parts.query:
        query = redact_query_values(parts.query)
        if query != parts.query:
            shown = shown.replace(f"?{parts.query}", f"?{query}", 1)
    return shown
