"""Security primitives: password hashing, JWTs, API keys and the signing key. No I/O beyond the key file.

The names below are imported on first use (PEP 562): ``pipelines.security.files``, which every
process that writes a private file needs, then loads without the JWT and Argon2 libraries (PyJWT,
cryptography, argon2-cffi), which only the API and the user commands use.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pipelines.security.api_keys import display_prefix, generate_api_key, hash_api_key
    from pipelines.security.keys import resolve_secret_key
    from pipelines.security.passwords import hash_password, needs_rehash, verify_password
    from pipelines.security.tokens import (
        TokenClaims,
        TokenPolicy,
        TokenType,
        decode_token,
        issue_access_token,
        issue_refresh_token,
    )

__all__ = [
    "TokenClaims",
    "TokenPolicy",
    "TokenType",
    "decode_token",
    "display_prefix",
    "generate_api_key",
    "hash_api_key",
    "hash_password",
    "issue_access_token",
    "issue_refresh_token",
    "needs_rehash",
    "resolve_secret_key",
    "verify_password",
]

_HOMES = {
    "display_prefix": "api_keys",
    "generate_api_key": "api_keys",
    "hash_api_key": "api_keys",
    "resolve_secret_key": "keys",
    "hash_password": "passwords",
    "needs_rehash": "passwords",
    "verify_password": "passwords",
    "TokenClaims": "tokens",
    "TokenPolicy": "tokens",
    "TokenType": "tokens",
    "decode_token": "tokens",
    "issue_access_token": "tokens",
    "issue_refresh_token": "tokens",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f"{__name__}.{home}"), name)
    globals()[name] = value
    return value
