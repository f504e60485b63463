"""API keys: ``tf_`` + 43 URL-safe characters; only their SHA-256 is stored.

A fast hash is enough (unlike passwords): the key has 256 bits of entropy, so it cannot be guessed
from its hash, and lookups by hash stay one indexed query on every request.
"""

from __future__ import annotations

import hashlib
import secrets

__all__ = ["API_KEY_PREFIX", "display_prefix", "generate_api_key", "hash_api_key"]

API_KEY_PREFIX = "tf_"
_DISPLAY_CHARS = 8


def generate_api_key() -> str:
    return API_KEY_PREFIX + secrets.token_urlsafe(32)


def hash_api_key(key: str) -> str:
    """The hex SHA-256 of ``key`` (what the database stores and looks up)."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def display_prefix(key: str) -> str:
    """The first characters shown to the user to tell keys apart, e.g. ``tf_Ab3dE``."""
    return key[: len(API_KEY_PREFIX) + _DISPLAY_CHARS]
