"""JWT access and refresh tokens (HS256), and the policy that signs them."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any, Literal

import jwt

from pipelines.errors import AuthenticationError
from pipelines.security.keys import resolve_secret_key
from pipelines.settings import Settings

__all__ = [
    "ALGORITHM",
    "TokenClaims",
    "TokenPolicy",
    "TokenType",
    "decode_token",
    "issue_access_token",
    "issue_refresh_token",
]

ALGORITHM = "HS256"
TokenType = Literal["access", "refresh"]
_REQUIRED = ["sub", "type", "jti", "iat", "exp"]


@dataclass(frozen=True, slots=True)
class TokenClaims:
    sub: str
    role: str
    tier: str
    type: TokenType
    version: int  # the user's token version when issued (claim ``ver``; absent in older tokens: 0)
    jti: str
    iat: dt.datetime
    exp: dt.datetime


@dataclass(frozen=True, slots=True)
class TokenPolicy:
    """The signing key and lifetimes; build it once per app with ``from_settings``."""

    secret: str
    access_ttl: dt.timedelta = dt.timedelta(minutes=30)
    refresh_ttl: dt.timedelta = dt.timedelta(days=7)

    @classmethod
    def from_settings(cls, settings: Settings) -> TokenPolicy:
        return cls(
            secret=resolve_secret_key(settings),
            access_ttl=dt.timedelta(minutes=settings.auth.access_token_minutes),
            refresh_ttl=dt.timedelta(days=settings.auth.refresh_token_days),
        )


def _issue(
    secret: str,
    token_type: TokenType,
    sub: str,
    role: str,
    tier: str,
    ttl: dt.timedelta,
    now: dt.datetime | None,
    version: int,
) -> str:
    issued = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
    claims: dict[str, Any] = {
        "sub": sub,
        "role": role,
        "tier": tier,
        "ver": version,
        "type": token_type,
        "jti": uuid.uuid4().hex,
        "iat": issued,
        "exp": issued + ttl,
    }
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def issue_access_token(
    secret: str,
    *,
    sub: str,
    role: str,
    tier: str,
    ttl: dt.timedelta,
    now: dt.datetime | None = None,
    version: int = 0,
) -> str:
    return _issue(secret, "access", sub, role, tier, ttl, now, version)


def issue_refresh_token(
    secret: str,
    *,
    sub: str,
    role: str,
    tier: str,
    ttl: dt.timedelta,
    now: dt.datetime | None = None,
    version: int = 0,
) -> str:
    return _issue(secret, "refresh", sub, role, tier, ttl, now, version)


def decode_token(token: str, secret: str, expected_type: TokenType) -> TokenClaims:
    """The verified claims of ``token``; AuthenticationError when expired, invalid or of the wrong type."""
    try:
        claims = jwt.decode(token, secret, algorithms=[ALGORITHM], options={"require": _REQUIRED})
    except jwt.ExpiredSignatureError:
        raise AuthenticationError(f"{expected_type} token expired") from None
    except jwt.InvalidTokenError as exc:
        raise AuthenticationError(f"invalid {expected_type} token: {exc}") from None
    if claims["type"] != expected_type:
        raise AuthenticationError(f"wrong token type: expected {expected_type}, got {claims['type']!r}")
    if not isinstance(claims["sub"], str) or not claims["sub"]:
        raise AuthenticationError(f"invalid {expected_type} token: no subject")
    version = claims.get("ver", 0)
    if not isinstance(version, int) or isinstance(version, bool):
        raise AuthenticationError(f"invalid {expected_type} token: bad version")
    return TokenClaims(
        sub=claims["sub"],
        role=str(claims.get("role", "user")),
        tier=str(claims.get("tier", "free")),
        type=expected_type,
        version=version,
        jti=str(claims["jti"]),
        iat=dt.datetime.fromtimestamp(claims["iat"], dt.UTC),
        exp=dt.datetime.fromtimestamp(claims["exp"], dt.UTC),
    )
