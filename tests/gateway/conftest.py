"""Shared gateway fixtures: a key ring, an app on the test database, signed clients.

Other domains reuse them: `gateway_app`/`api` for a running app on the `engine` backend,
`terminal` for a registered terminal with its private key and capture device, and
`terminal_client`/`ops_client` for requests signed like a real terminal or operator.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from gateway.app import create_app
from gateway.client import NONCE_EXTENSION, GatewayKey, RequestSigner, SignatureAuth
from gateway.crypto.keyring import KeyRing, KeyStore, install_key_store
from gateway.db import unit_of_work
from gateway.settings import Settings
from gateway.terminals import service
from gateway.terminals.keys import encode_public_key
from gateway.terminals.models import OperatorRole


@pytest.fixture
def key_store(tmp_path: Path) -> Iterator[KeyStore]:
    """A fresh key ring installed for the process, as the lifespan or the CLI would."""
    store = KeyStore(path=tmp_path / "keys" / "keyring.json", env_value=None)
    store.save(KeyRing.generate())
    previous = install_key_store(store)
    yield store
    install_key_store(previous)


def database_url_of(engine: Engine) -> str:
    """A URL reaching the same database (and PostgreSQL schema) as the `engine` fixture."""
    url = engine.url
    if engine.dialect.name == "postgresql":
        with engine.connect() as connection:
            schema = connection.execute(text("SELECT current_schema()")).scalar_one()
        url = url.update_query_dict({"options": f"-csearch_path={schema}"})
    return url.render_as_string(hide_password=False)


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


@dataclass
class SignedClient:
    """Sends requests through `api` signed by one key, optionally with a chosen nonce."""

    api: TestClient
    signer: RequestSigner

    def request(
        self, method: str, url: str, *, nonce: str | None = None, **kwargs: Any
    ) -> httpx.Response:
        extensions = {NONCE_EXTENSION: nonce} if nonce else None
        return self.api.request(
            method, url, auth=SignatureAuth(self.signer), extensions=extensions, **kwargs
        )

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", url, **kwargs)


@dataclass
class TerminalIdentity:
    """A registered terminal: its id, signing key, and one registered capture device."""

    id: str
    private_key: Ed25519PrivateKey
    device_id: str
    device_key: Ed25519PrivateKey
    province_code: str = "32"
    regency_code: str = "01"

    @property
    def signer(self) -> RequestSigner:
        return RequestSigner(key_id=self.id, private_key=self.private_key)


def register_terminal(
    session_factory: sessionmaker[Session],
    terminal_id: str = "T-3201-0001",
    *,
    province_code: str = "32",
    regency_code: str = "01",
    bank_code: str = "BRI",
) -> TerminalIdentity:
    """Register a terminal and a capture device straight through the service layer."""
    key, device_key = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    device_id = f"D-{terminal_id}"
    with unit_of_work(session_factory) as session:
        service.register_terminal(
            session=session,
            terminal_id=terminal_id,
            agent_name="Warung Test",
            bank_code=bank_code,
            province_code=province_code,
            regency_code=regency_code,
            public_key=encode_public_key(key.public_key().public_bytes_raw()),
            actor="test",
        )
        service.register_device(
            session=session,
            terminal_id=terminal_id,
            device_id=device_id,
            model="test sensor",
            public_key=encode_public_key(device_key.public_key().public_bytes_raw()),
            actor="test",
        )
    return TerminalIdentity(terminal_id, key, device_id, device_key, province_code, regency_code)


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
    key = Ed25519PrivateKey.generate()
    with unit_of_work(session_factory) as session:
        service.register_operator(
            session=session,
            operator_id="ops-1",
            name="Test Operator",
            role=OperatorRole.ops,
            public_key=encode_public_key(key.public_key().public_bytes_raw()),
            actor="test",
        )
    return SignedClient(api, RequestSigner(key_id="ops-1", private_key=key))
