"""The attack suite: the terminal channel and data at rest (each attack is refused with the
right status and code, and leaves no trace: no nonce consumed, no audit entry), then the
identity life cycle a hostile terminal holding a valid key would attack:
re-enrolment, self-registered case workers, revoked vouchers, lockout, replays, plaintext
captures, region policy and the small leaks."""

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
from gateway.biometrics.sealed import open_capture
from gateway.cli import app as cli_app
from gateway.client import GatewayKey, RequestSigner, new_nonce, seal_capture
from gateway.crypto.capture import SealedCapture
from gateway.crypto.envelope import open_sealed, seal
from gateway.crypto.errors import EnvelopeError
from gateway.crypto.keyring import KeyStore
from gateway.crypto.nik import nik_lookup_hash, seal_nik
from gateway.db import unit_of_work
from gateway.deps import SessionDep
from gateway.settings import Settings
from gateway.terminals.auth import TerminalDep
from gateway.terminals.models import OperatorRole, PrincipalStatus, SeenNonce
from gateway.terminals.ratelimit import TokenBucketLimiter
from gateway.terminals.service import set_operator_status
from gateway.verification.models import CaseWorker
from matcher.fingerprint import iso19794_2
from matcher.fingerprint import storage as finger_storage
from tests.gateway.enrollment.test_enrollment_api import _register, _sealed_fingers, enroll_http
from tests.gateway.enrollment.world import finger_calibration, finger_record
from tests.gateway.signing import (
    SignedClient,
    TerminalIdentity,
    database_url_of,
    register_operator,
    register_terminal,
)

NIK = "3201014506900001"
# Large enough for a request carrying two sealed finger captures.
MAX_BYTES = 65_536


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


# --- The identity life cycle, attacked by a terminal holding a valid key -------------------


@pytest.fixture
def identity(monkeypatch: pytest.MonkeyPatch, finger_calibration: Path) -> None:
    """The identity world's calibration, and a person rate limit that lets tests retry."""
    monkeypatch.setenv("SATUPINTU_FINGER_CALIBRATION_PATH", str(finger_calibration))
    monkeypatch.setenv("SATUPINTU_PERSON_BURST", "100")


def _post_captures(
    client: SignedClient,
    url: str,
    terminal: TerminalIdentity,
    key: GatewayKey,
    seed: int,
    shot: int,
    **body: Any,
) -> httpx.Response:
    """`body` with index fingers of synthetic person `seed` sealed for this very request."""
    nonce = new_nonce()
    fingers = _sealed_fingers(terminal, key, nonce, seed, shot)
    return client.post(url, json={**body, "fingers": fingers}, nonce=nonce)


def _hostile(api: TestClient, session_factory: sessionmaker[Session]) -> TerminalIdentity:
    """An agent terminal in another region (Surabaya) with a valid key and capture device."""
    return register_terminal(
        session_factory, "T-3578-HOSTILE", province_code="35", regency_code="78"
    )


def _seed_case_worker(
    session_factory: sessionmaker[Session], operator_id: str, region: str, seed: int
) -> tuple[str, Ed25519PrivateKey]:
    """A case worker as an earlier, legitimate registration left them: an active operator
    with the case-worker role and their index fingers sealed in the register."""
    with unit_of_work(session_factory) as session:
        key = register_operator(session, operator_id, OperatorRole.case_worker, "Pendamping")
        reference = f"cw_{operator_id}"
        fingers = [iso19794_2.read(finger_record(seed * 16 + p, 1, p))[0] for p in (2, 7)]
        session.add(
            CaseWorker(
                reference=reference,
                operator_id=operator_id,
                region=region,
                active=True,
                envelope=seal(
                    finger_storage.dumps(fingers),
                    aad=f"case_worker:{reference}:operator={operator_id}".encode(),
                ),
            )
        )
    return reference, key


def _fallback(
    client: SignedClient,
    terminal: TerminalIdentity,
    key: GatewayKey,
    nik: str,
    case_worker: str,
    seed: int,
) -> httpx.Response:
    nonce = new_nonce()
    return client.post(
        "/v1/verify",
        json={
            "mode": "fallback",
            "nik": nik,
            "vouch": {
                "case_worker": case_worker,
                "reason": "worn fingerprints, known to the pendamping",
                "captures": {"fingers": _sealed_fingers(terminal, key, nonce, seed, 2)},
            },
        },
        nonce=nonce,
    )


def _lock(
    client: SignedClient, terminal: TerminalIdentity, key: GatewayKey, nik: str, wrong_seed: int
) -> list[int]:
    return [
        _post_captures(
            client, "/v1/verify", terminal, key, wrong_seed, shot, mode="1:1", nik=nik
        ).status_code
        for shot in range(5)
    ]


def test_reenrolment_by_a_hostile_terminal_does_not_replace_the_person(
    identity: None,
    api: TestClient,
    ops_client: SignedClient,
    terminal_client: SignedClient,
    terminal: TerminalIdentity,
    gateway_key: GatewayKey,
    session_factory: sessionmaker[Session],
) -> None:
    nik = _register(ops_client)[0]["nik"]
    enroll_http(terminal_client, terminal, gateway_key, nik, seed=51)
    hostile = _hostile(api, session_factory)
    attacker = SignedClient(api, hostile.signer)
    takeover = _post_captures(attacker, "/v1/enrollments", hostile, gateway_key, 52, 1, nik=nik)
    assert takeover.status_code == 201, takeover.text
    assert takeover.json()["status"] == "pending_update"
    as_victim = _post_captures(
        attacker, "/v1/verify", hostile, gateway_key, 52, 2, mode="1:1", nik=nik
    )
    assert as_victim.status_code == 200 and as_victim.json()["decision"] == "no_match"
    at_home = _post_captures(
        terminal_client, "/v1/verify", terminal, gateway_key, 51, 3, mode="1:1", nik=nik
    )
    assert at_home.status_code == 200 and at_home.json()["decision"] == "match"


def test_a_terminal_alone_cannot_register_a_case_worker(
    identity: None,
    api: TestClient,
    ops_client: SignedClient,
    gateway_key: GatewayKey,
    session_factory: sessionmaker[Session],
) -> None:
    hostile = _hostile(api, session_factory)
    attacker = SignedClient(api, hostile.signer)
    with unit_of_work(session_factory) as session:
        register_operator(session, "cw-fresh", OperatorRole.case_worker, "Pendamping")
    forged = base64.b64encode(hostile.private_key.sign(b"anything")).decode()
    alone = _post_captures(
        attacker,
        "/v1/case-workers",
        hostile,
        gateway_key,
        53,
        1,
        operator_id="cw-fresh",
        approval="cwa_forged",
        operator_signature=forged,
    )
    assert alone.status_code == 404, alone.text
    assert alone.json()["error"]["code"] == "unknown_case_worker_approval"
    # Even with a supervisor's real approval, the terminal lacks the case worker's own key.
    approved = ops_client.post(
        "/v1/ops/case-workers/approvals", json={"operator_id": "cw-fresh", "region": "3578"}
    )
    assert approved.status_code == 201, approved.text
    without_key = _post_captures(
        attacker,
        "/v1/case-workers",
        hostile,
        gateway_key,
        53,
        1,
        operator_id="cw-fresh",
        approval=approved.json()["reference"],
        operator_signature=forged,
    )
    assert without_key.status_code == 401, without_key.text
    assert without_key.json()["error"]["code"] == "case_worker_signature_invalid"
    with session_factory() as session:
        assert session.scalar(select(func.count()).select_from(CaseWorker)) == 0


def test_a_revoked_case_worker_vouches_for_no_one(
    identity: None,
    ops_client: SignedClient,
    terminal_client: SignedClient,
    terminal: TerminalIdentity,
    gateway_key: GatewayKey,
    session_factory: sessionmaker[Session],
) -> None:
    nik = _register(ops_client)[0]["nik"]
    enroll_http(terminal_client, terminal, gateway_key, nik, seed=54)
    worker, _ = _seed_case_worker(session_factory, "cw-gone", "3201", seed=55)
    with unit_of_work(session_factory) as session:  # `satupintu operators revoke cw-gone`
        set_operator_status(
            session=session, operator_id="cw-gone", status=PrincipalStatus.revoked, actor="test"
        )
    vouched = _fallback(terminal_client, terminal, gateway_key, nik, worker, seed=55)
    assert vouched.status_code == 403, vouched.text
    assert vouched.json()["error"]["code"] == "case_worker_inactive"


def test_fallback_respects_lockout(
    identity: None,
    ops_client: SignedClient,
    terminal_client: SignedClient,
    terminal: TerminalIdentity,
    gateway_key: GatewayKey,
    session_factory: sessionmaker[Session],
) -> None:
    nik = _register(ops_client)[0]["nik"]
    enroll_http(terminal_client, terminal, gateway_key, nik, seed=56)
    worker, _ = _seed_case_worker(session_factory, "cw-home", "3201", seed=57)
    assert _lock(terminal_client, terminal, gateway_key, nik, wrong_seed=58) == [200] * 5
    vouched = _fallback(terminal_client, terminal, gateway_key, nik, worker, seed=57)
    assert vouched.status_code == 423, vouched.text
    assert vouched.json()["error"]["code"] == "nik_locked"


__all__ = ["finger_calibration"]  # the identity world's fixture, used by `identity`


def test_replays_are_refused_before_rate_limit_and_matching(
    identity: None,
    api: TestClient,
    ops_client: SignedClient,
    terminal_client: SignedClient,
    terminal: TerminalIdentity,
    gateway_key: GatewayKey,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    nik = _register(ops_client)[0]["nik"]
    enroll_http(terminal_client, terminal, gateway_key, nik, seed=59)
    state = api.app.state  # type: ignore[attr-defined]
    state.terminal_rate_limiter = TokenBucketLimiter(rate_per_minute=1, burst=3, scope="terminal")
    prepared = 0
    prepare = state.biometrics.prepare

    def counting(*args: Any) -> Any:
        nonlocal prepared
        prepared += 1
        return prepare(*args)

    monkeypatch.setattr(state.biometrics, "prepare", counting)
    genuine = _post_captures(
        terminal_client, "/v1/verify", terminal, gateway_key, 59, 2, mode="1:1", nik=nik
    )
    assert genuine.status_code == 200 and genuine.json()["decision"] == "match"
    work_of_one = prepared
    statuses = {api.send(genuine.request).status_code for _ in range(35)}
    assert statuses == {401}
    assert prepared == work_of_one, "a replay ran the fingerprint comparison"
    after = _post_captures(
        terminal_client, "/v1/verify", terminal, gateway_key, 59, 3, mode="1:1", nik=nik
    )
    assert after.status_code == 200, after.text


def test_failures_at_a_terminal_outside_the_region_do_not_lock_the_person_at_home(
    identity: None,
    api: TestClient,
    ops_client: SignedClient,
    terminal_client: SignedClient,
    terminal: TerminalIdentity,
    gateway_key: GatewayKey,
    session_factory: sessionmaker[Session],
) -> None:
    nik = _register(ops_client)[0]["nik"]
    enroll_http(terminal_client, terminal, gateway_key, nik, seed=60)
    hostile = _hostile(api, session_factory)
    attacker = SignedClient(api, hostile.signer)
    assert _lock(attacker, hostile, gateway_key, nik, wrong_seed=61) == [200] * 5
    at_home = _post_captures(
        terminal_client, "/v1/verify", terminal, gateway_key, 60, 2, mode="1:1", nik=nik
    )
    assert at_home.status_code == 200, at_home.text
    assert at_home.json()["decision"] == "match"
    away = _post_captures(attacker, "/v1/verify", hostile, gateway_key, 60, 3, mode="1:1", nik=nik)
    assert away.status_code == 423, away.text  # still locked where the failures happened


def test_captures_in_clear_are_refused_by_default(
    identity: None,
    ops_client: SignedClient,
    terminal_client: SignedClient,
    terminal: TerminalIdentity,
    gateway_key: GatewayKey,
) -> None:
    assert Settings().allow_plaintext_captures is False
    nik = _register(ops_client)[0]["nik"]
    enroll_http(terminal_client, terminal, gateway_key, nik, seed=62)
    clear = [
        {
            "position": p,
            "format": "iso19794-2",
            "data": base64.b64encode(finger_record(62 * 16 + p, 2, p)).decode(),
        }
        for p in (2, 7)
    ]
    response = terminal_client.post(
        "/v1/verify", json={"mode": "1:1", "nik": nik, "fingers": clear}
    )
    _refused(response, 422, "capture_must_be_sealed")


def test_a_terminal_far_away_pays_a_household_only_as_region_policy_allows(
    identity: None,
    api: TestClient,
    ops_client: SignedClient,
    terminal_client: SignedClient,
    terminal: TerminalIdentity,
    gateway_key: GatewayKey,
    session_factory: sessionmaker[Session],
) -> None:
    nik = _register(ops_client)[0]["nik"]
    enroll_http(terminal_client, terminal, gateway_key, nik, seed=63)
    hostile = _hostile(api, session_factory)
    attacker = SignedClient(api, hostile.signer)
    account = {"owner_kind": "terminal", "owner_id": hostile.id, "bank_code": "BRI"}
    registered = ops_client.request(
        "PUT",
        "/v1/ops/payout-accounts",
        json={**account, "number": "4004000000078", "name": "Agen Surabaya"},
    )
    assert registered.status_code == 204, registered.text
    nonce = new_nonce()
    one_finger = _sealed_fingers(hostile, gateway_key, nonce, 63, 2)[:1]
    verified = attacker.post(
        "/v1/verify", json={"mode": "1:1", "nik": nik, "fingers": one_finger}, nonce=nonce
    )
    assert verified.status_code == 200 and verified.json()["decision"] == "match"
    paid = attacker.post(
        "/v1/payouts",
        json={"token": verified.json()["token"]},
        headers={"Idempotency-Key": "far-away-1"},
    )
    assert paid.status_code == 403, paid.text
    assert paid.json()["error"]["code"] in ("out_of_region_not_allowed", "step_up_required")


def test_ops_routes_are_described_only_to_operators(
    api: TestClient, ops_client: SignedClient
) -> None:
    public = api.get("/openapi.json").json()["paths"]
    assert "/v1/verify" in public and not [p for p in public if p.startswith("/v1/ops")]
    _refused(api.get("/v1/ops/openapi.json"), 401, "signature_missing")
    operators = ops_client.get("/v1/ops/openapi.json")
    assert operators.status_code == 200 and "/v1/ops/lockouts" in operators.json()["paths"]


def test_an_unknown_nik_is_answered_like_a_wrong_finger(
    identity: None,
    ops_client: SignedClient,
    terminal_client: SignedClient,
    terminal: TerminalIdentity,
    gateway_key: GatewayKey,
) -> None:
    nik = _register(ops_client)[0]["nik"]
    enroll_http(terminal_client, terminal, gateway_key, nik, seed=64)
    stranger = nik[:12] + ("9999" if nik[12:] != "9999" else "9998")
    answers = []
    for asked in (nik, stranger):
        response = _post_captures(
            terminal_client, "/v1/verify", terminal, gateway_key, 65, 1, mode="1:1", nik=asked
        )
        body = response.json()
        body.pop("verification", None)
        answers.append((response.status_code, body))
    assert answers[0] == answers[1], answers
    assert answers[0][0] == 200 and answers[0][1]["decision"] == "no_match"
    # Nor does a fallback without a real case worker tell the two apart.
    vouches = [
        _fallback(terminal_client, terminal, gateway_key, asked, "cw_nobody", seed=66)
        for asked in (nik, stranger)
    ]
    assert [(v.status_code, v.json()["error"]["code"]) for v in vouches] == [
        (404, "unknown_case_worker")
    ] * 2


def test_the_signature_is_checked_before_the_body_is_parsed(
    api: TestClient, terminal: TerminalIdentity
) -> None:
    malformed = b'{"mode": "1:1", "nik": '
    json_type = {"content-type": "application/json"}
    unsigned = api.post("/v1/verify", content=malformed, headers=json_type)
    _refused(unsigned, 401, "signature_missing")
    signed = httpx.Request(
        "POST", "http://testserver/v1/verify", content=malformed, headers=json_type
    )
    terminal.signer.sign(signed)
    _refused(api.send(signed), 422, "invalid_request")  # the signer hears about its body
