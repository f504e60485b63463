"""JWT access and refresh tokens: claims, expiry, type confusion and tampering are told apart."""

from __future__ import annotations

import base64
import datetime as dt
import json

import jwt
import pytest

from pipelines.errors import AuthenticationError
from pipelines.security import TokenPolicy, decode_token, issue_access_token, issue_refresh_token
from pipelines.settings import Settings

SECRET = "s" * 48
NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)


def access(**overrides: object) -> str:
    args: dict[str, object] = {"sub": "u1", "role": "admin", "tier": "pro", "ttl": dt.timedelta(minutes=30)}
    args.update(overrides)
    return issue_access_token(SECRET, **args)  # type: ignore[arg-type]


def test_round_trip_claims() -> None:
    claims = decode_token(access(now=NOW), SECRET, "access")
    assert (claims.sub, claims.role, claims.tier, claims.type) == ("u1", "admin", "pro", "access")
    assert claims.iat == NOW and claims.exp == NOW + dt.timedelta(minutes=30)
    assert len(claims.jti) == 32
    assert decode_token(access(), SECRET, "access").jti != claims.jti


def test_expired_token() -> None:
    old = access(now=NOW - dt.timedelta(hours=1))
    with pytest.raises(AuthenticationError, match="access token expired"):
        decode_token(old, SECRET, "access")


def test_wrong_type_is_refused_both_ways() -> None:
    refresh = issue_refresh_token(SECRET, sub="u1", role="user", tier="free", ttl=dt.timedelta(days=7))
    with pytest.raises(AuthenticationError, match="wrong token type: expected access, got 'refresh'"):
        decode_token(refresh, SECRET, "access")
    with pytest.raises(AuthenticationError, match="expected refresh, got 'access'"):
        decode_token(access(), SECRET, "refresh")
    assert decode_token(refresh, SECRET, "refresh").type == "refresh"


def test_tampered_forged_and_malformed_tokens() -> None:
    token = access()
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["role"] = "admin2"
    forged_payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    unsigned = jwt.encode({"sub": "u1", "type": "access", "jti": "j", "iat": NOW, "exp": NOW}, None, "none")
    missing_jti = jwt.encode(
        {"sub": "u1", "type": "access", "iat": NOW, "exp": NOW + dt.timedelta(hours=1)}, SECRET, "HS256"
    )
    for bad in (
        f"{header}.{forged_payload}.{signature}",
        f"{header}.{payload}.{signature[::-1]}",
        f"{header}.{payload}.",
        unsigned,
        missing_jti,
        "not.a.jwt",
        "",
    ):
        with pytest.raises(AuthenticationError, match="invalid access token"):
            decode_token(bad, SECRET, "access")
    with pytest.raises(AuthenticationError, match="invalid access token"):
        decode_token(access(), "another-secret-of-sufficient-length-xxxxx", "access")


def test_policy_from_settings(settings: Settings) -> None:
    custom = settings.model_copy(
        update={"access_token_minutes": 5, "refresh_token_days": 2, "secret_key": SECRET}
    )
    policy = TokenPolicy.from_settings(custom)
    assert policy == TokenPolicy(SECRET, dt.timedelta(minutes=5), dt.timedelta(days=2))
    generated = TokenPolicy.from_settings(settings)
    assert generated.secret == settings.secret_key_path.read_text().strip()
