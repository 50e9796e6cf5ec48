"""`POST /v1/verify` over HTTP with signed requests and sealed ISO captures; lockout routes."""

from __future__ import annotations

import base64
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from gateway.client import GatewayKey, RequestSigner, new_nonce
from gateway.db import unit_of_work
from gateway.terminals.models import OperatorRole, SeenNonce
from gateway.verification import service
from gateway.verification.case_workers import enrolment_statement
from gateway.verification.models import VerificationRecord
from gateway.verification.tokens import TokenWrongTerminal, consume_token
from tests.gateway.enrollment.test_enrollment_api import _register, _sealed_fingers, enroll_http
from tests.gateway.signing import SignedClient, TerminalIdentity, register_operator


@pytest.fixture
def gateway_app(app_factory: Callable[..., FastAPI]) -> FastAPI:
    """Some cases here send clear captures to reach the quality gate: asked for explicitly."""
    return app_factory(allow_plaintext_captures=True)


@pytest.fixture(autouse=True)
def _calibration(monkeypatch: pytest.MonkeyPatch, finger_calibration: Path) -> None:
    monkeypatch.setenv("SATUPINTU_FINGER_CALIBRATION_PATH", str(finger_calibration))
    monkeypatch.setenv("SATUPINTU_PERSON_BURST", "100")


def _post_fingers(
    client: SignedClient,
    url: str,
    terminal: TerminalIdentity,
    key: GatewayKey,
    seed: int,
    shot: int,
    **body: object,
) -> httpx.Response:
    """`body` with fingers sealed for this very request (their nonce is the request's)."""
    nonce = new_nonce()
    return client.post(
        url,
        json={**body, "fingers": _sealed_fingers(terminal, key, nonce, seed, shot)},
        nonce=nonce,
    )


def _verify(
    client: SignedClient,
    terminal: TerminalIdentity,
    key: GatewayKey,
    seed: int,
    shot: int,
    **body: object,
) -> tuple[int, dict[str, object]]:
    response = _post_fingers(client, "/v1/verify", terminal, key, seed, shot, **body)
    return response.status_code, response.json()


def test_verify_issues_a_token_for_this_terminal_and_locks_after_failures(
    ops_client: SignedClient,
    terminal_client: SignedClient,
    terminal: TerminalIdentity,
    gateway_key: GatewayKey,
    session_factory: sessionmaker[Session],
) -> None:
    nik = _register(ops_client)[0]["nik"]
    enrolled = enroll_http(terminal_client, terminal, gateway_key, nik, seed=31)
    status, body = _verify(terminal_client, terminal, gateway_key, 31, 4, mode="1:1", nik=nik)
    assert status == 200 and body["decision"] == "match", body
    assert body["household"] == enrolled["household"] and nik not in str(body)
    token = str(body["token"])
    with unit_of_work(session_factory) as session, pytest.raises(TokenWrongTerminal):
        consume_token(session=session, token=token, terminal="T-OTHER")
    with unit_of_work(session_factory) as session:
        assert consume_token(session=session, token=token, terminal=terminal.id).fallback is False

    status, cardless = _verify(terminal_client, terminal, gateway_key, 31, 5, mode="1:N")
    assert status == 200 and cardless["decision"] == "match" and cardless["scope"] == "region"

    for attempt in range(5):
        status, body = _verify(
            terminal_client, terminal, gateway_key, 32, attempt, mode="1:1", nik=nik
        )
        assert status == 200 and body["decision"] == "no_match"
    status, body = _verify(terminal_client, terminal, gateway_key, 31, 6, mode="1:1", nik=nik)
    assert status == 423 and body["error"]["code"] == "nik_locked"
    with session_factory() as session:
        outcomes = list(session.scalars(select(VerificationRecord.outcome)))
        assert outcomes.count("locked") == 1 and outcomes.count("no_match") == 5

    locked = ops_client.get("/v1/ops/lockouts").json()
    assert len(locked) == 1 and locked[0]["person"] == enrolled["person"]
    unlock = f"/v1/ops/lockouts/{locked[0]['reference']}/unlock"
    reason = {"reason": "checked the e-KTP, fingers cleaned"}
    by_ops = ops_client.post(unlock, json=reason)  # only a case worker of the region may
    assert (
        by_ops.status_code == 403 and by_ops.json()["error"]["code"] == "case_worker_out_of_region"
    )
    with unit_of_work(session_factory) as session:
        cw_key = register_operator(session, "cw-9", OperatorRole.case_worker, "Pendamping")
    created = register_case_worker_http(
        ops_client, terminal_client, terminal, gateway_key, "cw-9", cw_key, 43
    )
    assert created.status_code == 201, created.text
    case_worker = SignedClient(ops_client.api, RequestSigner(key_id="cw-9", private_key=cw_key))
    unlocked = case_worker.post(unlock, json=reason)
    assert unlocked.status_code == 200 and unlocked.json()["unlocked_by"] == "cw-9"
    status, body = _verify(terminal_client, terminal, gateway_key, 31, 7, mode="1:1", nik=nik)
    assert status == 200 and body["decision"] == "match"


def test_mode_fields_are_checked(terminal_client: SignedClient) -> None:
    for body in (
        {"mode": "1:1"},
        {"mode": "1:N", "nik": "3201024506900001"},
        {"mode": "ektp", "nik": "3201024506900001"},
        {"mode": "retina"},
    ):
        response = terminal_client.post("/v1/verify", json=body)
        assert response.status_code == 422
        assert response.json()["error"]["code"] == "invalid_request"


@pytest.fixture
def enrolled_nik(
    ops_client: SignedClient,
    terminal_client: SignedClient,
    terminal: TerminalIdentity,
    gateway_key: GatewayKey,
) -> str:
    """A registered person enrolled over HTTP with the fingers of synthetic seed 41."""
    nik: str = _register(ops_client)[0]["nik"]
    enroll_http(terminal_client, terminal, gateway_key, nik, seed=41)
    return nik


def register_case_worker_http(
    ops_client: SignedClient,
    terminal_client: SignedClient,
    terminal: TerminalIdentity,
    key: GatewayKey,
    operator_id: str,
    operator_key: Ed25519PrivateKey,
    seed: int,
    shot: int = 1,
) -> httpx.Response:
    """The three parties: the supervisor approves, the case worker signs this request, the
    terminal's device seals the fingers."""
    approval = ops_client.post(
        "/v1/ops/case-workers/approvals",
        json={"operator_id": operator_id, "region": terminal.province_code + terminal.regency_code},
    )
    assert approval.status_code == 201, approval.text
    reference = approval.json()["reference"]
    nonce = new_nonce()
    statement = enrolment_statement(
        approval=reference, operator_id=operator_id, terminal_id=terminal.id, nonce=nonce
    )
    return terminal_client.post(
        "/v1/case-workers",
        json={
            "operator_id": operator_id,
            "approval": reference,
            "operator_signature": base64.b64encode(operator_key.sign(statement)).decode(),
            "fingers": _sealed_fingers(terminal, key, nonce, seed, shot),
        },
        nonce=nonce,
    )


def test_case_worker_registers_and_vouches_over_http(
    enrolled_nik: str,
    ops_client: SignedClient,
    terminal_client: SignedClient,
    terminal: TerminalIdentity,
    gateway_key: GatewayKey,
    session_factory: sessionmaker[Session],
) -> None:
    nik = enrolled_nik
    with unit_of_work(session_factory) as session:
        cw_key = register_operator(session, "cw-7", OperatorRole.case_worker, "Pendamping")
    created = register_case_worker_http(
        ops_client, terminal_client, terminal, gateway_key, "cw-7", cw_key, 42
    )
    assert created.status_code == 201, created.text
    worker = created.json()
    assert worker["fingers"] == [2, 7] and worker["region"] == "3201"
    again = register_case_worker_http(
        ops_client, terminal_client, terminal, gateway_key, "cw-7", cw_key, 42, 3
    )
    assert again.status_code == 409 and again.json()["error"]["code"] == "case_worker_exists"
    nonce = new_nonce()
    vouched = terminal_client.post(
        "/v1/verify",
        json={
            "mode": "fallback",
            "nik": nik,
            "vouch": {
                "case_worker": worker["reference"],
                "reason": "worn fingerprints, known to the pendamping",
                "captures": {"fingers": _sealed_fingers(terminal, gateway_key, nonce, 42, 2)},
            },
        },
        nonce=nonce,
    )
    assert vouched.status_code == 200, vouched.text
    body = vouched.json()
    assert body["decision"] == "match" and body["fallback"] is True and body["token"]
    with unit_of_work(session_factory) as session:
        assert consume_token(session=session, token=body["token"], terminal=terminal.id).fallback


def test_unusable_capture_is_refused_and_still_recorded(
    ops_client: SignedClient, terminal_client: SignedClient, session_factory: sessionmaker[Session]
) -> None:
    nik = _register(ops_client)[0]["nik"]
    response = terminal_client.post(
        "/v1/verify",
        json={
            "mode": "1:1",
            "nik": nik,
            "fingers": [{"position": 2, "format": "iso19794-2", "data": "Rk1SAAAA"}],
        },
    )
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "capture_rejected"
    assert error["details"]["captures"][0]["capture"] == "finger:2"
    with session_factory() as session:
        record = session.scalars(select(VerificationRecord)).one()
        assert record.outcome == "capture_rejected" and record.person_id is not None


def test_revocations_after_a_verification_are_honoured_at_once(
    enrolled_nik: str,
    ops_client: SignedClient,
    terminal_client: SignedClient,
    terminal: TerminalIdentity,
    gateway_key: GatewayKey,
    session_factory: sessionmaker[Session],
) -> None:
    """Keys cached by the first verification never outlive a status change in the database."""
    nik = enrolled_nik
    status, body = _verify(terminal_client, terminal, gateway_key, 41, 4, mode="1:1", nik=nik)
    assert status == 200 and body["decision"] == "match", body

    # A refused request (a malformed NIK) still spends its nonce, so it cannot be replayed.
    nonce = new_nonce()
    malformed = terminal_client.post(
        "/v1/verify",
        json={
            "mode": "1:1",
            "nik": "3201014101",
            "fingers": _sealed_fingers(terminal, gateway_key, nonce, 41, 5),
        },
        nonce=nonce,
    )
    assert malformed.status_code == 422, malformed.text
    with session_factory() as session:
        assert session.scalar(select(SeenNonce.nonce).where(SeenNonce.nonce == nonce)) == nonce

    revoked = ops_client.post(
        f"/v1/ops/devices/{terminal.device_id}/status", json={"status": "revoked"}
    )
    assert revoked.status_code == 200, revoked.text
    status, body = _verify(terminal_client, terminal, gateway_key, 41, 6, mode="1:1", nik=nik)
    assert status == 403 and body["error"]["code"] == "capture_device_inactive", body

    suspended = ops_client.post(
        f"/v1/ops/terminals/{terminal.id}/status", json={"status": "suspended"}
    )
    assert suspended.status_code == 200, suspended.text
    status, body = _verify(terminal_client, terminal, gateway_key, 41, 7, mode="1:1", nik=nik)
    assert status == 403 and body["error"]["code"] == "terminal_inactive", body
    with session_factory() as session:
        outcomes = list(session.scalars(select(VerificationRecord.outcome)))
    assert outcomes == ["match"]


def test_a_verification_failing_after_its_terminal_is_confirmed_cannot_be_replayed(
    enrolled_nik: str,
    terminal_client: SignedClient,
    terminal: TerminalIdentity,
    gateway_key: GatewayKey,
    session_factory: sessionmaker[Session],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An unexpected failure while deciding (in the read snapshot) still spends the nonce."""

    def crashing_decision(**_kwargs: object) -> None:
        raise RuntimeError("the comparison crashed")

    monkeypatch.setattr(service, "decide", crashing_decision)
    nonce = new_nonce()
    crashed = terminal_client.post(
        "/v1/verify",
        json={
            "mode": "1:1",
            "nik": enrolled_nik,
            "fingers": _sealed_fingers(terminal, gateway_key, nonce, 41, 8),
        },
        nonce=nonce,
    )
    assert crashed.status_code == 500, crashed.text
    assert crashed.json()["error"]["code"] == "internal_error"
    with session_factory() as session:
        assert session.scalar(select(SeenNonce.nonce).where(SeenNonce.nonce == nonce)) == nonce
        assert session.scalar(select(VerificationRecord.id)) is None


@pytest.mark.parametrize("threads", [1, 3])
def test_verifications_decided_at_once_are_bounded_by_verify_threads(
    ops_client: SignedClient,
    terminal_client: SignedClient,
    terminal: TerminalIdentity,
    gateway_key: GatewayKey,
    monkeypatch: pytest.MonkeyPatch,
    threads: int,
) -> None:
    nik = _register(ops_client)[0]["nik"]
    enroll_http(terminal_client, terminal, gateway_key, nik, seed=37)
    terminal_client.api.app.state.verify_limiter.total_tokens = threads  # type: ignore[attr-defined]
    deciding, finished, most = 0, 0, 0
    lock = threading.Lock()
    decide = service.decide
    limiter = terminal_client.api.app.state.verify_limiter  # type: ignore[attr-defined]

    def every_request_accounted_for() -> bool:
        with lock:
            seen = deciding + finished
        return seen + limiter.statistics().tasks_waiting >= 3

    def slow_decide(**kwargs: Any) -> Any:
        nonlocal deciding, finished, most
        with lock:
            deciding += 1
            most = max(most, deciding)
        # Hold this decision until each of the three requests is deciding, done or queued at
        # the limiter: a limiter letting more than `threads` through is then caught every time.
        deadline = time.monotonic() + 30
        while not every_request_accounted_for():
            assert time.monotonic() < deadline, "the three requests never all arrived"
            time.sleep(0.002)
        try:
            return decide(**kwargs)
        finally:
            with lock:
                deciding -= 1
                finished += 1

    monkeypatch.setattr(service, "decide", slow_decide)
    with ThreadPoolExecutor(3) as pool:
        answers = list(
            pool.map(
                lambda shot: _verify(
                    terminal_client, terminal, gateway_key, 37, shot, mode="1:1", nik=nik
                ),
                (4, 5, 6),
            )
        )
    assert [status for status, _ in answers] == [200, 200, 200], answers
    assert most == threads
