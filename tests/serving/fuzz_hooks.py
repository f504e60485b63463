"""Schemathesis hooks for the OpenAPI fuzz run: every other request is sent as the admin.

Loaded by the ``schemathesis`` CLI through ``SCHEMATHESIS_HOOKS``; the two bearer tokens come in the
environment (``FUZZ_USER_TOKEN``, ``FUZZ_ADMIN_TOKEN``).
"""

from __future__ import annotations

import itertools
import os
from typing import Any

import schemathesis

_TOKENS = itertools.cycle([os.environ.get("FUZZ_USER_TOKEN", ""), os.environ.get("FUZZ_ADMIN_TOKEN", "")])


@schemathesis.hook
def before_call(context: Any, case: Any, kwargs: dict[str, Any]) -> None:
    generated = case.headers or {}
    headers = {k: v for k, v in generated.items() if k.lower() not in ("authorization", "x-api-key")}
    headers["Authorization"] = f"Bearer {next(_TOKENS)}"
    case.headers = headers
