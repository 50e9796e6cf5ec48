"""Shared gateway fixtures: a key ring, an app on the test database, signed clients.

Other domains reuse them: `gateway_app`/`api` for a running app on the `engine` backend,
`terminal` for a registered terminal with its private key and capture device, and
`terminal_client`/`ops_client` for requests signed like a real terminal or operator.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from gateway.app import create_app
from gateway.client import GatewayKey, RequestSigner
from gateway.crypto.keyring import KeyRing, KeyStore, install_key_store
from gateway.db import unit_of_work
from gateway.settings import Settings
from gateway.terminals.models import OperatorRole
from tests.gateway.signing import (
    SignedClient,
    TerminalIdentity,
    database_url_of,
    register_operator,
    register_terminal,
)


@pytest.fixture
def key_store(tmp_path: Path) -> Iterator[KeyStore]:
    """A fresh key ring installed for the process, as the lifespan or the CLI would."""
    store = KeyStore(path=tmp_path / "keys" / "keyring.json", env_value=None)
    store.save(KeyRing.generate())
    previous = install_key_store(store)
    yield store
    install_key_store(previous)


@pytest.fixture
def app_factory(
    engine: Engine, session_factory: sessionmaker[Session], tmp_path: Path
) -> Callable[..., FastAPI]:
    """Build `create_app(Settings(...))` on the test database; keyword args override settings."""

    def build(**overrides: Any) -> FastAPI:
        settings = Settings(
            data_dir=tmp_path, database_url=database_url_of(engine), environment="test", **overrides
        )
        return create_app(settings)

    return build


@pytest.fixture
def gateway_app(app_factory: Callable[..., FastAPI]) -> FastAPI:
    return app_factory()


@pytest.fixture
def api(gateway_app: FastAPI) -> Iterator[TestClient]:
    """An unsigned client over the running app (lifespan entered: keys, database ready)."""
    with TestClient(gateway_app) as client:
        yield client


@pytest.fixture
def terminal(api: TestClient, session_factory: sessionmaker[Session]) -> TerminalIdentity:
    """A registered active terminal (the app is running, so its key ring is installed)."""
    return register_terminal(session_factory)


@pytest.fixture
def terminal_client(api: TestClient, terminal: TerminalIdentity) -> SignedClient:
    return SignedClient(api, terminal.signer)


@pytest.fixture
def gateway_key(api: TestClient) -> GatewayKey:
    """The gateway's current published HPKE key, as a capture device fetches it."""
    return GatewayKey.from_published(api.get("/v1/keys/biometric").json()["current"])


@pytest.fixture
def ops_client(api: TestClient, session_factory: sessionmaker[Session]) -> SignedClient:
    """A client signing as an active operator with the `ops` role."""
    with unit_of_work(session_factory) as session:
        key = register_operator(session, "ops-1", OperatorRole.ops)
    return SignedClient(api, RequestSigner(key_id="ops-1", private_key=key))
