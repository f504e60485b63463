"""Password hashing with Argon2id (argon2-cffi's RFC 9106 low-memory profile by default)."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

__all__ = ["DUMMY_HASH", "hash_password", "needs_rehash", "verify_password"]

# Verified against when the user does not exist, so that an unknown username costs as much time as a
# wrong password and response times do not reveal which usernames exist.
DUMMY_HASH = (
    "$argon2id$v=19$m=65536,t=3,p=4$fnz5M91ETG3D3wEy1JEIaQ$bGo5Uw9cFPuCiDYINrGL3UtYhkvnpf8o11u33xEgJH8"
)


def hash_password(password: str, hasher: PasswordHasher | None = None) -> str:
    return (hasher or PasswordHasher()).hash(password)


def verify_password(password_hash: str, password: str, hasher: PasswordHasher | None = None) -> bool:
    """True when ``password`` matches; False for a wrong password or a malformed hash."""
    try:
        return (hasher or PasswordHasher()).verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str, hasher: PasswordHasher | None = None) -> bool:
    """True when the hash was made with other parameters than ``hasher``'s (time to upgrade it)."""
    try:
        return (hasher or PasswordHasher()).check_needs_rehash(password_hash)
    except InvalidHashError:
        return True
