"""The key ring: created in development, refused missing in production, reloaded on rotation."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gateway.crypto.errors import KeyRingError
from gateway.crypto.keyring import ENV_VAR, KeyRing, KeyStore
from gateway.settings import Settings
from tests.gateway.signing import TOKEN_SIGNING_KEY


@pytest.fixture(autouse=True)
def _no_env_ring(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV_VAR, raising=False)


def test_development_creates_an_owner_only_ring_file(tmp_path: Path) -> None:
    store = KeyStore.from_settings(Settings(data_dir=tmp_path))
    assert store.path == tmp_path / "keys" / "keyring.json"
    assert store.path.stat().st_mode & 0o777 == 0o600
    again = KeyStore.from_settings(Settings(data_dir=tmp_path))
    assert again.current() == store.current()


def test_production_refuses_to_start_without_keys(tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path,
        environment="production",
        allow_plaintext_captures=False,
        token_signing_key=TOKEN_SIGNING_KEY,
    )
    with pytest.raises(KeyRingError, match="refusing to start"):
        KeyStore.from_settings(settings)
    assert not (tmp_path / "keys").exists()


def test_ring_from_environment_is_read_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ring = KeyRing.generate()
    monkeypatch.setenv(ENV_VAR, json.dumps(ring.to_json()))
    store = KeyStore.from_settings(
        Settings(
            data_dir=tmp_path,
            environment="production",
            allow_plaintext_captures=False,
            token_signing_key=TOKEN_SIGNING_KEY,
        )
    )
    assert store.current() == ring
    with pytest.raises(KeyRingError, match="secret store"):
        store.save(ring.with_new_kek())


def test_malformed_ring_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "keyring.json"
    path.parent.mkdir()
    data = KeyRing.generate().to_json()
    data["active_kek"] = "missing"
    path.write_text(json.dumps(data))
    with pytest.raises(KeyRingError, match="active KEK"):
        KeyStore.from_settings(Settings(data_dir=tmp_path))
    data = KeyRing.generate().to_json() | {"audit_key": "c2hvcnQ="}
    path.write_text(json.dumps(data))
    with pytest.raises(KeyRingError, match="32 bytes"):
        KeyStore.from_settings(Settings(data_dir=tmp_path))


def test_another_process_sees_a_rotation(tmp_path: Path) -> None:
    mine = KeyStore.from_settings(Settings(data_dir=tmp_path))
    other = KeyStore(path=mine.path, env_value=None)
    rotated = other.current().with_new_kek().with_new_hpke()
    other.save(rotated)
    assert mine.refresh() == rotated
    assert rotated.previous_hpke is not None
    assert rotated.hpke_private(rotated.previous_hpke) is not None


def test_only_current_and_previous_hpke_keys_open_captures() -> None:
    ring = KeyRing.generate()
    first = ring.active_hpke
    ring = ring.with_new_hpke().with_new_hpke()
    assert ring.hpke_private(first) is None
    assert ring.hpke_private(ring.active_hpke) is not None
    assert ring.previous_hpke is not None and ring.hpke_private(ring.previous_hpke) is not None
