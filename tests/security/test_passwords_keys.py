"""Argon2 password hashes, API key material and the JWT signing key file."""

from __future__ import annotations

import stat
from concurrent.futures import ThreadPoolExecutor

from argon2 import PasswordHasher

from pipelines.security import (
    display_prefix,
    generate_api_key,
    hash_api_key,
    hash_password,
    needs_rehash,
    resolve_secret_key,
    verify_password,
)
from pipelines.security.passwords import DUMMY_HASH
from pipelines.settings import Settings

WEAK = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


def test_hash_and_verify() -> None:
    hashed = hash_password("correct horse")
    assert hashed.startswith("$argon2id$") and "correct horse" not in hashed
    assert hashed != hash_password("correct horse")  # salted
    assert verify_password(hashed, "correct horse")
    assert not verify_password(hashed, "correct hors")
    assert not verify_password("not-a-hash", "correct horse")
    assert not needs_rehash(hashed)
    assert not needs_rehash(DUMMY_HASH)  # the timing decoy costs what a real hash costs


def test_old_parameters_need_rehash_but_still_verify() -> None:
    old = hash_password("correct horse", WEAK)
    assert verify_password(old, "correct horse")
    assert needs_rehash(old)
    assert not needs_rehash(old, WEAK)
    assert needs_rehash("garbage")


def test_api_keys() -> None:
    keys = {generate_api_key() for _ in range(100)}
    assert len(keys) == 100
    key = keys.pop()
    assert key.startswith("tf_") and len(key) == 46
    assert hash_api_key(key) == hash_api_key(key) != hash_api_key(key + "x")
    assert len(hash_api_key(key)) == 64 and int(hash_api_key(key), 16) >= 0
    assert display_prefix(key) == key[:11]


def test_configured_secret_key_wins(settings: Settings) -> None:
    configured = settings.model_copy(update={"secret_key": "k" * 40})
    assert resolve_secret_key(configured) == "k" * 40
    assert not configured.secret_key_path.exists()


def test_generated_secret_key_is_private_and_stable(settings: Settings) -> None:
    key = resolve_secret_key(settings)
    path = settings.secret_key_path
    assert len(key) >= 64 and path.read_text().strip() == key
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert resolve_secret_key(settings) == key
    assert [p.name for p in path.parent.iterdir()] == ["secret_key"]  # no temp files left


def test_concurrent_first_starts_agree_on_one_key(settings: Settings) -> None:
    with ThreadPoolExecutor(8) as pool:
        keys = set(pool.map(lambda _: resolve_secret_key(settings), range(16)))
    assert len(keys) == 1
    assert settings.secret_key_path.read_text().strip() == keys.pop()


def test_blank_key_file_is_replaced(settings: Settings) -> None:
    settings.secrets_dir.mkdir(parents=True)
    settings.secret_key_path.write_text("\n")
    key = resolve_secret_key(settings)
    assert key and settings.secret_key_path.read_text().strip() == key
