"""Request signatures accepted as the client makes them, on every digest and URL shape."""

from __future__ import annotations

import base64
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi import FastAPI
from fastapi.testclient import TestClient
from http_message_signatures import HTTPMessageSigner, MappingKeyResolver, algorithms
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from starlette.datastructures import Headers

from gateway.client import RequestSigner, SignatureAuth, new_nonce
from gateway.errors import GatewayError
from gateway.terminals import repository
from gateway.terminals.authenticate import authenticate_message
from gateway.terminals.models import SeenNonce
from gateway.terminals.settings import SecuritySettings
from tests.gateway.signing import SignedClient, TerminalIdentity


def test_signed_request_is_served_and_its_nonce_recorded(
    terminal_client: SignedClient,
    terminal: TerminalIdentity,
    session_factory: sessionmaker[Session],
) -> None:
    nonce = new_nonce()
    response = terminal_client.get("/v1/terminals/me", nonce=nonce)
    assert response.status_code == 200, response.text
    assert response.json()["id"] == terminal.id
    with session_factory() as session:
        keys = session.execute(select(SeenNonce.keyid, SeenNonce.nonce)).all()
    assert (f"terminal:{terminal.id}", nonce) in keys


def test_signature_covers_the_required_components() -> None:
    request = httpx.Request("POST", "http://gw.example/v1/x?b=2&a=1", json={"a": 1})
    key = Ed25519PrivateKey.generate()
    RequestSigner(key_id="T-1", private_key=key).sign(request, nonce="n" * 12)
    signature_input = request.headers["signature-input"]
    for component in ('"@method"', '"@target-uri"', '"content-digest"', '"content-type"'):
        assert component in signature_input
    for parameter in ("created=", 'nonce="nnnnnnnnnnnn"', 'keyid="T-1"'):
        assert parameter in signature_input
    assert request.headers["content-digest"].startswith("sha-256=:")


def test_sha512_digest_and_query_strings_verify(
    api: TestClient, terminal: TerminalIdentity
) -> None:
    signer = RequestSigner(key_id=terminal.id, private_key=terminal.private_key, digest="sha-512")
    response = api.get(
        "/v1/terminals/me", params={"z": "1", "a": "x y"}, auth=SignatureAuth(signer)
    )
    assert response.status_code == 200, response.text
    assert response.request.headers["content-digest"].startswith("sha-512=:")


def test_every_request_needs_a_fresh_nonce(
    terminal_client: SignedClient, session_factory: sessionmaker[Session]
) -> None:
    for _ in range(3):
        assert terminal_client.get("/v1/terminals/me").status_code == 200
    with session_factory() as session:
        assert session.scalar(select(func.count()).select_from(SeenNonce)) == 3


@pytest.mark.parametrize("status", ["suspended", "revoked"])
def test_inactive_terminal_is_refused_after_its_signature_checks(
    terminal_client: SignedClient, ops_client: SignedClient, terminal: TerminalIdentity, status: str
) -> None:
    changed = ops_client.post(
        f"/v1/ops/terminals/{terminal.id}/status", json={"status": status, "reason": "test"}
    )
    assert changed.status_code == 200, changed.text
    response = terminal_client.get("/v1/terminals/me")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "terminal_inactive"


def test_operator_key_does_not_authenticate_as_a_terminal(
    api: TestClient, ops_client: SignedClient
) -> None:
    response = ops_client.get("/v1/terminals/me")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unknown_terminal"
    stranger = SignedClient(
        api, RequestSigner(key_id="nobody", private_key=Ed25519PrivateKey.generate())
    )
    assert stranger.get("/v1/ops/terminals").json()["error"]["code"] == "unknown_operator"


def test_expired_nonces_are_purged(session_factory: sessionmaker[Session]) -> None:
    now = datetime.now(UTC)
    with session_factory.begin() as session:
        repository.record_nonce(session, keyid="terminal:T", nonce="old-nonce", expires_at=now)
        repository.record_nonce(
            session, keyid="terminal:T", nonce="new-nonce", expires_at=now + timedelta(minutes=1)
        )
    with session_factory.begin() as session:
        assert repository.purge_nonces(session, now=now + timedelta(seconds=1)) == 1
    with session_factory() as session:
        assert session.scalars(select(SeenNonce.nonce)).all() == ["new-nonce"]


def test_public_base_url_behind_a_proxy(
    gateway_app: FastAPI, api: TestClient, terminal: TerminalIdentity
) -> None:
    """The terminal signs the public https URL; the gateway behind the proxy sees http."""
    signer = RequestSigner(key_id=terminal.id, private_key=terminal.private_key)
    public = httpx.Request("GET", "https://gateway.example.go.id/v1/terminals/me?x=1")
    signer.sign(public)
    internal = httpx.Request("GET", "http://testserver/v1/terminals/me?x=1", headers=public.headers)
    assert api.send(internal).json()["error"]["code"] == "signature_invalid"
    gateway_app.state.security_settings = SecuritySettings(
        public_base_url="https://gateway.example.go.id"
    )
    signer.sign(public)
    internal = httpx.Request("GET", "http://testserver/v1/terminals/me?x=1", headers=public.headers)
    assert api.send(internal).status_code == 200


def test_signature_base_is_plain_rfc9421() -> None:
    """A vendor building the base by hand from RFC 9421 section 2.5 gets the signed bytes."""
    request = httpx.Request(
        "POST", "https://gw.example/v1/pay?x=1", content=b'{"a":1}',
        headers={"content-type": "application/json"},
    )  # fmt: skip
    key = Ed25519PrivateKey.generate()
    RequestSigner(key_id="T-1", private_key=key).sign(request)
    label, params = request.headers["signature-input"].split("=", 1)
    base = "\n".join(
        [
            '"@method": POST',
            '"@target-uri": https://gw.example/v1/pay?x=1',
            f'"content-digest": {request.headers["content-digest"]}',
            '"content-type": application/json',
            f'"@signature-params": {params}',
        ]
    )
    assert params.startswith('("@method" "@target-uri" "content-digest" "content-type")')
    signature = request.headers["signature"].removeprefix(f"{label}=:").removesuffix(":")
    key.public_key().verify(base64.b64decode(signature), base.encode())


def test_rekeyed_terminal_refuses_the_old_key(
    api: TestClient, ops_client: SignedClient, terminal: TerminalIdentity
) -> None:
    new_key = Ed25519PrivateKey.generate()
    public = base64.b64encode(new_key.public_key().public_bytes_raw()).decode()
    changed = ops_client.post(f"/v1/ops/terminals/{terminal.id}/key", json={"public_key": public})
    assert changed.status_code == 200, changed.text
    old = SignedClient(api, terminal.signer)
    assert old.get("/v1/terminals/me").json()["error"]["code"] == "signature_invalid"
    new = SignedClient(api, RequestSigner(key_id=terminal.id, private_key=new_key))
    assert new.get("/v1/terminals/me").status_code == 200


def test_racing_copies_of_one_request_are_served_once(
    gateway_app: FastAPI, terminal: TerminalIdentity, session_factory: sessionmaker[Session]
) -> None:
    """The database decides: whatever the interleaving, one copy wins and the rest are replays."""
    request = httpx.Request("POST", "http://testserver/v1/x", json={"a": 1})
    terminal.signer.sign(request)
    headers = Headers(raw=[(k.encode(), v.encode()) for k, v in request.headers.items()])

    def attempt(_: int) -> str:
        try:
            authenticate_message(
                kind="terminal",
                method="POST",
                url=str(request.url),
                headers=headers,
                body=request.content,
                factory=session_factory,
                settings=gateway_app.state.security_settings,
            )
        except GatewayError as exc:
            return exc.code
        return "served"

    with ThreadPoolExecutor(max_workers=8) as pool:
        outcomes = sorted(pool.map(attempt, range(8)))
    assert outcomes == ["replayed_request"] * 7 + ["served"]


def _library_signed(
    terminal: TerminalIdentity, covered: list[str], *, expires: datetime | None = None
) -> httpx.Request:
    """Signed by the library directly, with options the gateway's own client never uses."""
    request = httpx.Request("GET", "http://testserver/v1/terminals/me")
    HTTPMessageSigner(
        signature_algorithm=algorithms.ED25519,
        key_resolver=MappingKeyResolver(
            public_keys={}, private_keys={terminal.id: terminal.private_key}
        ),
    ).sign(
        request,
        key_id=terminal.id,
        created=datetime.now(UTC),
        expires=expires,
        nonce=new_nonce(),
        label="sig",
        covered_component_ids=covered,
        # Given a body, the library adds content-digest to the covered set by itself.
        body=b"" if "content-digest" in covered else None,
    )
    return request


@pytest.mark.parametrize(
    ("covered", "expires", "code"),
    [
        (["@method", "@target-uri", "content-digest"], None, None),
        (["@method", "@target-uri", "content-digest", "@authority"], None, None),
        (["@method", "@target-uri"], None, "signature_invalid"),
        (["@method", "@target-uri", "content-digest"], datetime.now(UTC), "stale_request"),
    ],
)
def test_signature_profile_accepted_by_the_gateway(
    api: TestClient,
    terminal: TerminalIdentity,
    covered: list[str],
    expires: datetime | None,
    code: str | None,
) -> None:
    """Covered sets beyond the required ones verify; a missing required component and an
    expired signature are refused with their own codes."""
    response = api.send(_library_signed(terminal, covered, expires=expires))
    if code is None:
        assert response.status_code == 200, response.text
    else:
        assert response.status_code == 401, response.text
        assert response.json()["error"]["code"] == code
