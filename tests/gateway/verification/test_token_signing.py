"""The token signing key comes through `Settings`; production refuses a missing or a
development key."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pydantic import ValidationError

from gateway.crypto.errors import KeyRingError
from gateway.crypto.keyring import KeyStore, install_key_store
from gateway.settings import TOKEN_SIGNING_FILE, Settings, SettingsError
from gateway.verification.signing import gateway_public_key, key_id, sign_with_gateway_key

PRODUCTION = {"environment": "production", "allow_plaintext_captures": False}


def _b64(key: Ed25519PrivateKey) -> str:
    return base64.b64encode(key.private_bytes_raw()).decode()


@pytest.fixture()
def installed() -> Iterator[list[KeyStore]]:
    """Install key stores for a test and restore the process's previous one afterwards."""
    stores: list[KeyStore] = []
    previous = install_key_store(None)
    yield stores
    install_key_store(previous)


def _install(settings: Settings, stores: list[KeyStore]) -> None:
    store = KeyStore.from_settings(settings, create=True)
    stores.append(store)
    install_key_store(store)


def test_the_configured_key_signs_and_the_environment_is_read_only_through_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, installed: list[KeyStore]
) -> None:
    key = Ed25519PrivateKey.generate()
    monkeypatch.setenv("SATUPINTU_TOKEN_SIGNING_KEY", _b64(key))
    settings = Settings(data_dir=tmp_path)
    monkeypatch.setenv("SATUPINTU_TOKEN_SIGNING_KEY", _b64(Ed25519PrivateKey.generate()))
    _install(settings, installed)
    kid, signature = sign_with_gateway_key(b"token")
    assert kid == key_id(key.public_key())
    key.public_key().verify(signature, b"token")
    assert not (tmp_path / "keys" / TOKEN_SIGNING_FILE).exists()


def test_production_refuses_a_missing_key(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="no token signing key"):
        Settings(data_dir=tmp_path, **PRODUCTION)  # type: ignore[arg-type]


def test_production_refuses_the_key_development_generated(
    tmp_path: Path, installed: list[KeyStore]
) -> None:
    _install(Settings(data_dir=tmp_path), installed)
    kid, _ = sign_with_gateway_key(b"token")  # development writes its key file on first use
    assert gateway_public_key(kid)
    with pytest.raises(SettingsError, match="generated for development"):
        Settings(data_dir=tmp_path, **PRODUCTION)  # type: ignore[arg-type]


def test_production_accepts_a_provisioned_key_file(
    tmp_path: Path, installed: list[KeyStore]
) -> None:
    key = Ed25519PrivateKey.generate()
    kid = key_id(key.public_key())
    path = tmp_path / "keys" / TOKEN_SIGNING_FILE
    path.parent.mkdir()
    path.write_text(json.dumps({"active": kid, "keys": {kid: _b64(key)}}))
    _install(Settings(data_dir=tmp_path, **PRODUCTION), installed)  # type: ignore[arg-type]
    assert sign_with_gateway_key(b"x")[0] == kid


def test_the_loader_refuses_a_development_file_in_production_too(
    tmp_path: Path, installed: list[KeyStore]
) -> None:
    """Defence in depth: a store built without the settings' check still refuses the file."""
    _install(Settings(data_dir=tmp_path / "laptop"), installed)
    sign_with_gateway_key(b"token")
    copied = tmp_path / "server" / "keys" / TOKEN_SIGNING_FILE
    copied.parent.mkdir(parents=True)
    copied.write_bytes((tmp_path / "laptop" / "keys" / TOKEN_SIGNING_FILE).read_bytes())
    install_key_store(
        KeyStore(path=copied.parent / "keyring.json", env_value=None, production=True)
    )
    with pytest.raises(KeyRingError, match="development token signing key"):
        sign_with_gateway_key(b"token")


@pytest.mark.parametrize("value", ["not base64!", base64.b64encode(b"short").decode()])
def test_a_malformed_key_is_refused_without_echoing_it(value: str) -> None:
    with pytest.raises(ValidationError) as caught:
        Settings(token_signing_key=value)
    assert value not in str(caught.value)
