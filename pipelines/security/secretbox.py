"""Secrets at rest (webhook signing secrets, exchange credentials): Fernet under a key derived from
the platform's encryption key.

The key material is ``TRADEFORGE_ENCRYPTION_KEY`` or, in development, a random key generated once
into ``$TRADEFORGE_HOME/secrets/encryption_key`` (mode 0600). HKDF with a purpose label turns it into
each use's own Fernet key (:data:`WEBHOOK_SECRETS`, :data:`EXCHANGE_CREDENTIALS`), so one purpose's
key never opens another's tokens. Losing or changing the material makes stored secrets unreadable:
their users then fail, saying so.
"""

from __future__ import annotations

import base64

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from pipelines.security.keys import read_or_create_key
from pipelines.settings import Settings

__all__ = [
    "EXCHANGE_CREDENTIALS",
    "WEBHOOK_SECRETS",
    "SecretBox",
    "SecretDecryptionError",
    "encryption_key_material",
]

WEBHOOK_SECRETS = b"tradeforge/webhook-secrets/v1"
EXCHANGE_CREDENTIALS = b"tradeforge/exchange-credentials/v1"


class SecretDecryptionError(RuntimeError):
    """A stored secret cannot be decrypted: the encryption key changed since it was stored."""


class SecretBox:
    """Encrypts and decrypts short strings with a key derived from ``material`` for ``purpose``."""

    __slots__ = ("_fernet",)

    def __init__(self, material: str, *, purpose: bytes) -> None:
        if not material:
            raise ValueError("the encryption key material is empty")
        derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(
            material.encode("utf-8")
        )
        self._fernet = Fernet(base64.urlsafe_b64encode(derived))

    @classmethod
    def from_settings(cls, settings: Settings, *, purpose: bytes) -> SecretBox:
        return cls(encryption_key_material(settings), purpose=purpose)

    def __repr__(self) -> str:
        return "SecretBox(...)"

    def encrypt(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode("utf-8")).decode("ascii")

    def decrypt(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode("ascii")).decode("utf-8")
        except (InvalidToken, UnicodeError):
            raise SecretDecryptionError(
                "a stored secret cannot be decrypted: the encryption key has changed"
            ) from None


def encryption_key_material(settings: Settings) -> str:
    """``settings.encryption_key``, else the dev key in ``$HOME/secrets/encryption_key`` (created if
    absent; moved there from ``$HOME/encryption_key``, where older versions kept it)."""
    if settings.encryption_key:
        return settings.encryption_key
    return read_or_create_key(settings.encryption_key_path, legacy=settings.home / "encryption_key")
