"""Identity test fixtures: a generated key ring installed for the process."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway.crypto.keyring import KeyRing, KeyStore, install_key_store


@pytest.fixture
def keys(tmp_path: Path) -> Iterator[KeyStore]:
    """A fresh key ring, as the app lifespan or the CLI would install it."""
    store = KeyStore(path=tmp_path / "keyring.json", env_value=None)
    store.save(KeyRing.generate())
    previous = install_key_store(store)
    yield store
    install_key_store(previous)
