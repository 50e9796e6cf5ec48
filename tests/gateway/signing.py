"""Helpers shared by the gateway tests: signed clients, registered terminals, database URLs."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from gateway.client import NONCE_EXTENSION, RequestSigner, SignatureAuth
from gateway.db import unit_of_work
from gateway.terminals import service
from gateway.terminals.keys import encode_public_key
from gateway.terminals.models import OperatorRole

# A token signing key provisioned for production-mode settings in tests.
TOKEN_SIGNING_KEY = base64.b64encode(Ed25519PrivateKey.generate().private_bytes_raw()).decode()


def database_url_of(engine: Engine) -> str:
    """A URL reaching the same database (and PostgreSQL schema) as the `engine` fixture."""
    url = engine.url
    if engine.dialect.name == "postgresql":
        with engine.connect() as connection:
            schema = connection.execute(text("SELECT current_schema()")).scalar_one()
        url = url.update_query_dict({"options": f"-csearch_path={schema}"})
    return url.render_as_string(hide_password=False)


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


def register_operator(
    session: Session, operator_id: str, role: OperatorRole, name: str = "Test Operator"
) -> Ed25519PrivateKey:
    """Register an operator straight through the service layer, in the caller's transaction;
    its signing key."""
    key = Ed25519PrivateKey.generate()
    service.register_operator(
        session=session,
        operator_id=operator_id,
        name=name,
        role=role,
        public_key=encode_public_key(key.public_key().public_bytes_raw()),
        actor="test",
    )
    return key
