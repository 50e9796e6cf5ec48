"""Biometric updates under four eyes, region policy at payout, fallback cash-out approval and
anomaly alerts, over HTTP with signed requests and sealed captures."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from gateway.audit.models import AuditEntry
from gateway.client import GatewayKey, RequestSigner, new_nonce
from gateway.db import unit_of_work
from gateway.terminals.models import OperatorRole
from gateway.trust.models import NotificationEvent
from gateway.trust.notifications import deliver
from tests.gateway.enrollment.test_enrollment_api import _register, _sealed_fingers, enroll_http
from tests.gateway.signing import (
    SignedClient,
    TerminalIdentity,
    register_operator,
    register_terminal,
)
from tests.gateway.verification.test_verification_api import register_case_worker_http


@pytest.fixture(autouse=True)
def _calibration(monkeypatch: pytest.MonkeyPatch, finger_calibration: Path) -> None:
    monkeypatch.setenv("SATUPINTU_FINGER_CALIBRATION_PATH", str(finger_calibration))
    monkeypatch.setenv("SATUPINTU_PERSON_BURST", "100")


@pytest.fixture
def gateway_app(app_factory: Callable[..., FastAPI]) -> FastAPI:
    """Alerts from the third event of a kind in a day, so a test can cross the threshold; the
    app's own notification worker never wakes during a test, which delivers the outbox itself
    (on a loaded machine a 5 s pass would otherwise race it)."""
    return app_factory(anomaly_min_events=2, notification_interval_seconds=3600)


def _post(
    client: SignedClient,
    url: str,
    terminal: TerminalIdentity,
    key: GatewayKey,
    seed: int,
    shot: int,
    positions: slice = slice(None),
    **body: object,
) -> httpx.Response:
    nonce = new_nonce()
    fingers = _sealed_fingers(terminal, key, nonce, seed, shot)[positions]
    return client.post(url, json={**body, "fingers": fingers}, nonce=nonce)


def _case_worker(
    ops_client: SignedClient,
    terminal_client: SignedClient,
    terminal: TerminalIdentity,
    key: GatewayKey,
    session_factory: sessionmaker[Session],
    operator_id: str,
    seed: int,
) -> tuple[SignedClient, str]:
    with unit_of_work(session_factory) as session:
        cw_key = register_operator(session, operator_id, OperatorRole.case_worker, "Pendamping")
    created = register_case_worker_http(
        ops_client, terminal_client, terminal, key, operator_id, cw_key, seed
    )
    assert created.status_code == 201, created.text
    signer = RequestSigner(key_id=operator_id, private_key=cw_key)
    return SignedClient(ops_client.api, signer), created.json()["reference"]


def test_a_held_update_needs_a_case_worker_of_the_region_then_a_supervisor(
    ops_client: SignedClient,
    terminal_client: SignedClient,
    terminal: TerminalIdentity,
    gateway_key: GatewayKey,
    session_factory: sessionmaker[Session],
) -> None:
    nik = _register(ops_client)[0]["nik"]
    enroll_http(terminal_client, terminal, gateway_key, nik, seed=71)
    # The person's own fingers, captured again: proven by the match, in effect at once.
    renewed = _post(terminal_client, "/v1/enrollments", terminal, gateway_key, 71, 5, nik=nik)
    assert renewed.status_code == 201 and renewed.json()["status"] == "enrolled", renewed.text
    assert renewed.json()["update"]
    # New fingers that match nothing current: held, the old ones stay active.
    held = _post(terminal_client, "/v1/enrollments", terminal, gateway_key, 72, 1, nik=nik)
    assert held.status_code == 201 and held.json()["status"] == "pending_update", held.text
    update = held.json()["update"]
    again = _post(terminal_client, "/v1/enrollments", terminal, gateway_key, 72, 2, nik=nik)
    assert again.status_code == 409 and again.json()["error"]["code"] == "enrollment_pending"

    far_terminal = register_terminal(
        session_factory, "T-3578-0002", province_code="35", regency_code="78"
    )
    far_client = SignedClient(terminal_client.api, far_terminal.signer)
    far_worker, _ = _case_worker(
        ops_client, far_client, far_terminal, gateway_key, session_factory, "cw-far", 73
    )
    home_worker, _ = _case_worker(
        ops_client, terminal_client, terminal, gateway_key, session_factory, "cw-home", 74
    )
    decision = {"decision": "approve", "reason": "finger injured, identity checked on e-KTP"}
    review = f"/v1/biometric-updates/{update}/review"
    refused = far_worker.post(review, json=decision)
    assert (
        refused.status_code == 403
        and refused.json()["error"]["code"] == "case_worker_out_of_region"
    )
    early = ops_client.post(f"/v1/ops/biometric-updates/{update}/decision", json=decision)
    assert early.status_code == 409, early.text  # the supervisor comes second
    reviewed = home_worker.post(review, json=decision)
    assert reviewed.status_code == 200 and reviewed.json()["status"] == "awaiting_supervisor"
    still_old = _post(
        terminal_client, "/v1/verify", terminal, gateway_key, 71, 6, mode="1:1", nik=nik
    )
    assert still_old.json()["decision"] == "match"
    approved = ops_client.post(f"/v1/ops/biometric-updates/{update}/decision", json=decision)
    assert approved.status_code == 200 and approved.json()["status"] == "approved"
    assert approved.json()["case_worker"] == "cw-home" and approved.json()["supervisor"] == "ops-1"
    ops_client.api.app.state.indexes.catch_up()  # type: ignore[attr-defined]
    new = _post(terminal_client, "/v1/verify", terminal, gateway_key, 72, 3, mode="1:1", nik=nik)
    assert new.status_code == 200 and new.json()["decision"] == "match", new.text

    with session_factory() as session:
        events = session.scalars(select(NotificationEvent)).all()
        kinds = [e.payload["status"] for e in events]
        assert kinds == [
            "self_proven",
            "awaiting_case_worker",
            "awaiting_supervisor",
            "approved",
        ]
        audited = session.scalars(
            select(AuditEntry.actor).where(AuditEntry.kind == "biometric_update")
        ).all()
        assert audited[-2:] == ["operator:cw-home", "operator:ops-1"]
    sent: list[int] = []

    class Recorder:
        def send(self, event: NotificationEvent) -> None:
            sent.append(event.id)

    assert deliver(session_factory, Recorder()) == 4 and deliver(session_factory, Recorder()) == 0
    metrics = ops_client.api.get("/metrics").text
    assert 'satupintu_biometric_updates{status="approved"} 1.0' in metrics


def test_region_policy_asks_for_step_up_and_fallback_cash_out_for_a_supervisor(
    ops_client: SignedClient,
    terminal_client: SignedClient,
    terminal: TerminalIdentity,
    gateway_key: GatewayKey,
    session_factory: sessionmaker[Session],
) -> None:
    adults = _register(ops_client)
    traveller = next(a for a in adults if a["province_code"] == "35")["nik"]
    far_terminal = register_terminal(
        session_factory, "T-3578-0003", province_code="35", regency_code="78"
    )
    far_client = SignedClient(terminal_client.api, far_terminal.signer)
    enroll_http(far_client, far_terminal, gateway_key, traveller, seed=75)
    account = ops_client.request(
        "PUT",
        "/v1/ops/payout-accounts",
        json={
            "owner_kind": "terminal",
            "owner_id": terminal.id,
            "bank_code": "BRI",
            "number": "4004000000001",
            "name": "Warung Test",
        },
    )
    assert account.status_code == 204, account.text

    def pay(token: str, key: str) -> httpx.Response:
        headers = {"Idempotency-Key": key}
        return terminal_client.post("/v1/payouts", json={"token": token}, headers=headers)

    one = _post(
        terminal_client, "/v1/verify", terminal, gateway_key, 75, 2, slice(0, 1),
        mode="1:1", nik=traveller,
    )  # fmt: skip
    assert one.json()["decision"] == "match"
    refused = pay(one.json()["token"], "travel-one-finger")
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "step_up_required"
    two = _post(
        terminal_client, "/v1/verify", terminal, gateway_key, 75, 3, mode="1:1", nik=traveller
    )
    paid = pay(two.json()["token"], "travel-two-fingers")
    assert paid.status_code == 200 and paid.json()["state"] == "committed", paid.text

    # A supervised fallback at the person's home terminal pays cash-out only once approved.
    _, worker = _case_worker(
        ops_client, far_client, far_terminal, gateway_key, session_factory, "cw-35", 76
    )
    nonce = new_nonce()
    vouched = far_client.post(
        "/v1/verify",
        json={
            "mode": "fallback",
            "nik": traveller,
            "vouch": {
                "case_worker": worker,
                "reason": "worn fingerprints, known to the pendamping",
                "captures": {"fingers": _sealed_fingers(far_terminal, gateway_key, nonce, 76, 2)},
            },
        },
        nonce=nonce,
    )
    assert vouched.status_code == 200 and vouched.json()["fallback"], vouched.text
    far_account = ops_client.request(
        "PUT",
        "/v1/ops/payout-accounts",
        json={
            "owner_kind": "terminal",
            "owner_id": far_terminal.id,
            "bank_code": "BRI",
            "number": "4004000000035",
            "name": "Agen Surabaya",
        },
    )
    assert far_account.status_code == 204
    cash = far_client.post(
        "/v1/payouts",
        json={"token": vouched.json()["token"]},
        headers={"Idempotency-Key": "fallback-cash-1"},
    )
    assert cash.status_code == 403
    assert cash.json()["error"]["code"] == "fallback_cash_out_needs_approval"
    approval = ops_client.post(
        f"/v1/ops/fallbacks/{vouched.json()['verification']}/cash-out",
        json={"reason": "no bank account yet; known to the pendamping"},
    )
    assert approval.status_code == 201, approval.text
    cash = far_client.post(
        "/v1/payouts",
        json={"token": vouched.json()["token"]},
        headers={"Idempotency-Key": "fallback-cash-2"},
    )
    # Past the policy now: the household was paid a moment ago, so nothing is left to pay.
    assert cash.status_code == 422 and cash.json()["error"]["code"] == "nothing_due", cash.text


def test_a_terminal_above_its_baseline_raises_an_alert(
    ops_client: SignedClient,
    terminal_client: SignedClient,
    terminal: TerminalIdentity,
    gateway_key: GatewayKey,
) -> None:
    for index, adult in enumerate(_register(ops_client)[:3]):
        enroll_http(terminal_client, terminal, gateway_key, adult["nik"], seed=80 + index)
        renewed = _post(
            terminal_client, "/v1/enrollments", terminal, gateway_key, 80 + index, 4,
            nik=adult["nik"],
        )  # fmt: skip
        assert renewed.json()["status"] == "enrolled"
    alerts = ops_client.get("/v1/ops/anomalies").json()
    assert [(a["terminal"], a["kind"], a["count"]) for a in alerts] == [
        (terminal.id, "biometric_update", 3)
    ]
    metrics = ops_client.api.get("/metrics").text
    assert (
        f'satupintu_anomaly_alert_events{{kind="biometric_update",terminal="{terminal.id}"}} 3.0'
        in metrics
    )
