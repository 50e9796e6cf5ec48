"""The attack suite of the terminal channel and data at rest: each attack is refused with
the right status and code, and leaves no trace (no nonce consumed, no audit entry)."""

from __future__ import annotations

import base64
import hashlib
import logging
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from fastapi import APIRouter, FastAPI
from fastapi.testclient import TestClient
from pydantic import BaseModel
from sqlalchemy import Column, LargeBinary, MetaData, String, Table, func, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from gateway.audit.models import AuditEntry
from gateway.cli import app as cli_app
from gateway.client import GatewayKey, RequestSigner, new_nonce, seal_capture
from gateway.crypto.capture import SealedCapture, open_capture
from gateway.crypto.envelope import open_sealed, seal
from gateway.crypto.errors import EnvelopeError
from gateway.crypto.keyring import KeyStore
from gateway.crypto.nik import nik_lookup_hash, seal_nik
from gateway.deps import SessionDep
from gateway.terminals.auth import TerminalDep
from gateway.terminals.models import SeenNonce
from tests.gateway.signing import SignedClient, TerminalIdentity, database_url_of

NIK = "3201014506900001"
MAX_BYTES = 4096


class Note(BaseModel):
    text: str
    nik: str | None = None


def _test_router() -> APIRouter:
    """Signed endpoints that exist only in this test app, never in production."""
    router = APIRouter()

    @router.post("/test/echo")
    def echo(note: Note, terminal: TerminalDep) -> dict[str, str]:
        return {"terminal": terminal.id, "text": note.text}

    @router.post("/test/capture")
    def capture(
        sealed: SealedCapture, terminal: TerminalDep, session: SessionDep
    ) -> dict[str, str]:
        raw = open_capture(sealed, terminal=terminal, session=session)
        return {"sha256": hashlib.sha256(raw).hexdigest()}

    return router


@pytest.fixture
def gateway_app(app_factory: Callable[..., FastAPI]) -> FastAPI:
    app = app_factory(max_request_bytes=MAX_BYTES)
    app.include_router(_test_router())
    return app


@pytest.fixture
def traces(session_factory: sessionmaker[Session]) -> Callable[[], tuple[int, int]]:
    """(nonces recorded, audit entries): what an accepted request would leave behind."""

    def count() -> tuple[int, int]:
        with session_factory() as session:
            nonces = session.scalar(select(func.count()).select_from(SeenNonce)) or 0
            audits = session.scalar(select(func.count()).select_from(AuditEntry)) or 0
        return nonces, audits

    return count


def _signed(
    terminal: TerminalIdentity,
    body: dict[str, Any],
    *,
    key: Ed25519PrivateKey | None = None,
    created: int | None = None,
    nonce: str | None = None,
    path: str = "/test/echo",
) -> httpx.Request:
    request = httpx.Request("POST", f"http://testserver{path}", json=body)
    signer = RequestSigner(key_id=terminal.id, private_key=key or terminal.private_key)
    signer.sign(request, nonce=nonce, created=created)
    return request


def _with_body(request: httpx.Request, content: bytes, **headers: str) -> httpx.Request:
    """The same signed headers over another body (content-length recomputed by httpx)."""
    kept = {k: v for k, v in request.headers.items() if k != "content-length"} | headers
    return httpx.Request(request.method, request.url, headers=kept, content=content)


def _refused(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.json()["error"]["code"] == code


@pytest.fixture
def baseline(
    terminal: TerminalIdentity, traces: Callable[[], tuple[int, int]]
) -> Iterator[tuple[int, int]]:
    """Traces after setup; every attack test asserts they did not move."""
    before = traces()
    yield before
    assert traces() == before


def test_control_a_correctly_signed_request_is_served(
    api: TestClient, terminal: TerminalIdentity
) -> None:
    response = api.send(_signed(terminal, {"text": "hello"}))
    assert response.status_code == 200, response.text
    assert response.json() == {"terminal": terminal.id, "text": "hello"}


def test_unsigned_request(api: TestClient, baseline: tuple[int, int]) -> None:
    _refused(api.post("/test/echo", json={"text": "hi"}), 401, "signature_missing")


def test_signed_with_the_wrong_key(
    api: TestClient, terminal: TerminalIdentity, baseline: tuple[int, int]
) -> None:
    forged = _signed(terminal, {"text": "hi"}, key=Ed25519PrivateKey.generate())
    _refused(api.send(forged), 401, "signature_invalid")


def test_unknown_terminal(api: TestClient, baseline: tuple[int, int]) -> None:
    stranger = SignedClient(
        api, RequestSigner(key_id="T-NOBODY", private_key=Ed25519PrivateKey.generate())
    )
    _refused(stranger.post("/test/echo", json={"text": "hi"}), 401, "unknown_terminal")


def test_revoked_terminal(
    api: TestClient,
    terminal: TerminalIdentity,
    ops_client: SignedClient,
    traces: Callable[[], tuple[int, int]],
) -> None:
    revoked = ops_client.post(f"/v1/ops/terminals/{terminal.id}/status", json={"status": "revoked"})
    assert revoked.status_code == 200
    before = traces()
    _refused(api.send(_signed(terminal, {"text": "hi"})), 403, "terminal_inactive")
    assert traces() == before


def test_tampered_body(
    api: TestClient, terminal: TerminalIdentity, baseline: tuple[int, int]
) -> None:
    request = _signed(terminal, {"text": "pay 10000"})
    _refused(api.send(_with_body(request, b'{"text":"pay 99999"}')), 401, "digest_mismatch")


def test_tampered_headers(
    api: TestClient, terminal: TerminalIdentity, baseline: tuple[int, int]
) -> None:
    request = _signed(terminal, {"text": "pay 10000"})
    body = b'{"text":"pay 99999"}'
    digest = base64.b64encode(hashlib.sha256(body).digest()).decode()
    retargeted = _with_body(request, body, **{"content-digest": f"sha-256=:{digest}:"})
    _refused(api.send(retargeted), 401, "signature_invalid")
    retyped = _with_body(request, request.content, **{"content-type": "text/plain"})
    _refused(api.send(retyped), 401, "signature_invalid")
    moved = httpx.Request(
        "POST", "http://testserver/test/capture", headers=request.headers, content=request.content
    )
    _refused(api.send(moved), 401, "signature_invalid")


def test_replayed_request_even_after_a_restart(
    api: TestClient,
    app_factory: Callable[..., FastAPI],
    terminal: TerminalIdentity,
    traces: Callable[[], tuple[int, int]],
) -> None:
    request = _signed(terminal, {"text": "once"})
    assert api.send(request).status_code == 200
    after_first = traces()
    _refused(api.send(request), 401, "replayed_request")
    restarted = app_factory(max_request_bytes=MAX_BYTES)
    restarted.include_router(_test_router())
    with TestClient(restarted) as other_process:
        _refused(other_process.send(request), 401, "replayed_request")
    assert traces() == after_first


@pytest.mark.parametrize("offset_s", [-120, +120])
def test_stale_and_future_created(
    api: TestClient, terminal: TerminalIdentity, baseline: tuple[int, int], offset_s: int
) -> None:
    request = _signed(terminal, {"text": "hi"}, created=int(time.time()) + offset_s)
    _refused(api.send(request), 401, "stale_request")


def _capture_request(
    terminal: TerminalIdentity, key: GatewayKey, **overrides: Any
) -> httpx.Request:
    nonce = new_nonce()
    sealed_kwargs: dict[str, Any] = {
        "gateway_key": key,
        "terminal_id": terminal.id,
        "nonce": nonce,
        "device_id": terminal.device_id,
        "device_key": terminal.device_key,
    } | overrides
    sealed = seal_capture(b"live capture bytes", **sealed_kwargs)
    return _signed(terminal, sealed, nonce=nonce, path="/test/capture")


def test_control_a_sealed_capture_opens(
    api: TestClient, terminal: TerminalIdentity, gateway_key: GatewayKey
) -> None:
    response = api.send(_capture_request(terminal, gateway_key))
    assert response.status_code == 200, response.text
    assert response.json()["sha256"] == hashlib.sha256(b"live capture bytes").hexdigest()


def test_payload_encrypted_to_a_wrong_key(
    api: TestClient, terminal: TerminalIdentity, gateway_key: GatewayKey
) -> None:
    wrong = GatewayKey(gateway_key.key_id, X25519PrivateKey.generate().public_key())
    _refused(api.send(_capture_request(terminal, wrong)), 400, "payload_wrong_key")


def test_capture_sealed_for_another_request(
    api: TestClient, terminal: TerminalIdentity, gateway_key: GatewayKey
) -> None:
    sealed = seal_capture(
        b"live capture bytes",
        gateway_key=gateway_key,
        terminal_id=terminal.id,
        nonce="nonce-of-an-earlier-request",
        device_id=terminal.device_id,
        device_key=terminal.device_key,
    )
    request = _signed(terminal, sealed, path="/test/capture")
    _refused(api.send(request), 400, "payload_wrong_key")


def test_capture_signature_missing_or_from_an_unregistered_device(
    api: TestClient, terminal: TerminalIdentity, gateway_key: GatewayKey
) -> None:
    unsigned = _capture_request(terminal, gateway_key, device_key=None)
    _refused(api.send(unsigned), 401, "capture_signature_missing")
    rogue = _capture_request(terminal, gateway_key, device_id="D-ROGUE")
    _refused(api.send(rogue), 401, "capture_device_unknown")
    host_signed = _capture_request(terminal, gateway_key, device_key=terminal.private_key)
    _refused(api.send(host_signed), 401, "capture_signature_invalid")


def test_oversized_upload(
    api: TestClient, terminal: TerminalIdentity, baseline: tuple[int, int]
) -> None:
    request = _signed(terminal, {"text": "x" * (MAX_BYTES + 1)})
    _refused(api.send(request), 413, "payload_too_large")


def test_template_row_swapped_between_people(engine: Engine, key_store: KeyStore) -> None:
    """Each person's template is sealed to its row; swapping the blobs makes both unreadable."""
    table = Table(
        f"tpl_{uuid.uuid4().hex[:8]}",
        MetaData(),
        Column("person", String(16), primary_key=True),
        Column("template", LargeBinary),
    )
    table.create(engine)
    try:

        def aad(person: str) -> bytes:
            return f"template:person={person}:finger=2".encode()

        with engine.begin() as connection:
            for person in ("p_alice", "p_bob"):
                blob = seal(f"minutiae of {person}".encode(), aad=aad(person))
                connection.execute(table.insert().values(person=person, template=blob))
            alice = connection.scalar(select(table.c.template).where(table.c.person == "p_alice"))
            bob = connection.scalar(select(table.c.template).where(table.c.person == "p_bob"))
            connection.execute(
                update(table).where(table.c.person == "p_alice").values(template=bob)
            )
            connection.execute(
                update(table).where(table.c.person == "p_bob").values(template=alice)
            )
        with engine.connect() as connection:
            for person, blob in connection.execute(select(table.c.person, table.c.template)):
                with pytest.raises(EnvelopeError):
                    open_sealed(blob, aad=aad(person))
    finally:
        table.drop(engine)


def test_audit_row_edited_or_deleted_is_named_by_the_cli(
    api: TestClient,
    ops_client: SignedClient,
    engine: Engine,
    session_factory: sessionmaker[Session],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for i in range(3):
        key = Ed25519PrivateKey.generate().public_key().public_bytes_raw()
        created = ops_client.post(
            "/v1/ops/terminals",
            json={
                "id": f"T-A{i}",
                "agent_name": "a",
                "bank_code": "BRI",
                "province_code": "32",
                "regency_code": "01",
                "public_key": base64.b64encode(key).decode(),
            },
        )
        assert created.status_code == 201
    monkeypatch.setenv("SATUPINTU_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("SATUPINTU_DATABASE_URL", database_url_of(engine))
    monkeypatch.delenv("SATUPINTU_KEYRING", raising=False)
    runner = CliRunner()
    intact = runner.invoke(cli_app, ["audit", "verify"])
    # One operator and three terminals registered: four decisions, all chained.
    assert intact.exit_code == 0 and "4 entries" in intact.output, intact.output
    with session_factory.begin() as session:
        session.execute(
            update(AuditEntry).where(AuditEntry.seq == 3).values(actor="operator:someone-else")
        )
    edited = runner.invoke(cli_app, ["audit", "verify"])
    assert edited.exit_code == 1 and "broken at entry 3" in edited.output
    with session_factory.begin() as session:
        session.execute(AuditEntry.__table__.delete().where(AuditEntry.seq == 2))
    deleted = runner.invoke(cli_app, ["audit", "verify"])
    assert deleted.exit_code == 1 and "broken at entry 2" in deleted.output


def test_no_nik_in_any_log_line(
    api: TestClient,
    terminal: TerminalIdentity,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    body = {"text": "hi", "nik": NIK}
    api.post("/test/echo", json=body)  # unsigned
    api.send(_signed(terminal, body, key=Ed25519PrivateKey.generate()))  # wrong key
    tampered = _with_body(_signed(terminal, body), f'{{"text":"x","nik":"{NIK}"}}'.encode())
    api.send(tampered)
    api.send(_signed(terminal, {"nik": NIK}))  # invalid body: 422 after authentication
    ok = api.send(_signed(terminal, body))
    assert ok.status_code == 200
    # Hashing and sealing a NIK must not log it either.
    assert len(nik_lookup_hash(NIK)) == 32
    assert NIK.encode() not in seal_nik(NIK, record_id="p_1")
    assert caplog.records, "the refusals above are expected to log"
    for record in caplog.records:
        raw = f"{record.getMessage()} {vars(record)}"
        assert NIK not in raw, f"NIK leaked by logger {record.name}"


def test_absurd_capture_time_is_a_validation_error_not_a_crash(
    api: TestClient, terminal: TerminalIdentity, gateway_key: GatewayKey
) -> None:
    request = _capture_request(terminal, gateway_key, captured_at_ms=10**18)
    _refused(api.send(request), 422, "invalid_request")
