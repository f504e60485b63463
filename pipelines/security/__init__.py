"""Security primitives: password hashing, JWTs, API keys and the signing key. No I/O beyond the key file."""

from __future__ import annotations

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
