"""The payout API end to end: signed terminal, verification token, ledger, simulated bank."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import httpx
import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.orm import Session, sessionmaker

from adapters.faults import Fault
from gateway.db import unit_of_work
from gateway.payouts import repository
from gateway.payouts.programmes import payment_day
from gateway.registry.models import Household, Person, ProgrammeMembership
from gateway.terminals import repository as terminal_repository
from gateway.terminals.models import OperatorRole
from gateway.verification.tokens import issue_token

from ..conftest import (
    RequestSigner,
    SignedClient,
    TerminalIdentity,
    register_operator,
    register_terminal,
)


@dataclass
class Family:
    household_id: int
    person_id: int
    reference: str


@pytest.fixture
def family(api: TestClient, session_factory: sessionmaker[Session]) -> Family:
    with unit_of_work(session_factory) as session:
        household = Household(
            reference="HH-TEST-1",
            family_card_number="3201010101010001",
            province_code="32",
            regency_code="01",
            district_code="01",
        )
        session.add(household)
        session.flush()
        people = [
            Person(
                reference=f"P-TEST-{i}",
                household_id=household.id,
                nik_hash=bytes([i]) * 32,
                nik_ciphertext=b"sealed elsewhere",
                name=name,
                birth_date=born,
                sex="F",
                relation=relation,
            )
            for i, (name, born, relation) in enumerate(
                [("Ibu", date(1950, 2, 2), "head"), ("Anak", date(2023, 2, 2), "grandchild")],
                start=1,
            )
        ]
        session.add_all(people)
        session.add_all(
            ProgrammeMembership(household_id=household.id, programme_code=code)
            for code in ("PKH", "SEMBAKO")
        )
        session.flush()
        return Family(household.id, people[0].id, household.reference)


def token_for(
    session_factory: sessionmaker[Session], family: Family, terminal_id: str, ttl: int = 120
) -> str:
    with unit_of_work(session_factory) as session:
        return issue_token(
            session=session,
            person_id=family.person_id,
            household_id=family.household_id,
            person_reference="P-TEST-1",
            household_reference=family.reference,
            terminal_id=terminal_id,
            request_digest="0" * 64,
            ttl_seconds=ttl,
        ).token


@pytest.fixture
def agent_account(ops_client: SignedClient, terminal: TerminalIdentity) -> None:
    response = ops_client.request(
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
    assert response.status_code == 204, response.text


def test_entitlements_list_every_line_with_reasons(
    terminal_client: SignedClient,
    terminal: TerminalIdentity,
    family: Family,
    agent_account: None,
    session_factory: sessionmaker[Session],
) -> None:
    token = token_for(session_factory, family, terminal.id)
    response = terminal_client.get("/v1/entitlements", headers={"X-Verification-Token": token})
    assert response.status_code == 200, response.text
    body = response.json()
    keys = {line["key"] for line in body["lines"]}
    assert f"PKH.elderly:person:{family.person_id}" in keys
    assert f"SEMBAKO.food:household:{family.household_id}" in keys
    assert body["total"] == sum(line["amount"] for line in body["lines"])
    assert all(line["reason"] for line in body["lines"])
    # Looking does not spend the token: the payout below still accepts it.
    paid = terminal_client.post(
        "/v1/payouts", json={"token": token}, headers={"Idempotency-Key": "look-then-pay"}
    )
    assert paid.status_code == 200, paid.text


def test_pay_once_replay_and_conflicts(
    terminal_client: SignedClient,
    terminal: TerminalIdentity,
    family: Family,
    agent_account: None,
    ops_client: SignedClient,
    session_factory: sessionmaker[Session],
) -> None:
    token = token_for(session_factory, family, terminal.id)
    headers = {"Idempotency-Key": "pay-0001"}
    first = terminal_client.post("/v1/payouts", json={"token": token}, headers=headers)
    assert first.status_code == 200, first.text
    payout = first.json()
    assert payout["state"] == "committed"
    assert payout["household"] == family.reference
    assert "TOTAL" in payout["receipt"]
    assert payout["amount"] == sum(line["amount"] for line in payout["lines"])

    again = terminal_client.post("/v1/payouts", json={"token": token}, headers=headers)
    assert again.status_code == 200
    assert again.json()["reference"] == payout["reference"]

    changed = terminal_client.post(
        "/v1/payouts", json={"token": token, "channel": "account_credit"}, headers=headers
    )
    assert changed.status_code == 409
    assert changed.json()["error"]["code"] == "idempotency_key_reused"

    reused = terminal_client.post(
        "/v1/payouts", json={"token": token}, headers={"Idempotency-Key": "pay-0002"}
    )
    assert reused.status_code == 409
    assert reused.json()["error"]["code"] == "token_used"

    receipt = terminal_client.get(f"/v1/payouts/{payout['reference']}/receipt")
    assert receipt.status_code == 200 and payout["reference"] in receipt.text

    day = payment_day(datetime.fromisoformat(payout["created_at"])).isoformat()
    report = ops_client.post("/v1/ops/reconciliations", json={"bank": "BRI", "day": day})
    assert report.status_code == 200, report.text
    assert report.json()["summary"]["matched"] >= 1


def test_payout_refusals_are_clear_and_write_nothing(
    api: TestClient,
    terminal_client: SignedClient,
    terminal: TerminalIdentity,
    family: Family,
    agent_account: None,
    session_factory: sessionmaker[Session],
) -> None:
    token = token_for(session_factory, family, terminal.id)
    missing_key = terminal_client.post("/v1/payouts", json={"token": token})
    assert missing_key.status_code == 422

    unsigned = api.post("/v1/payouts", json={"token": token}, headers={"Idempotency-Key": "x" * 8})
    assert unsigned.status_code == 401

    other = register_terminal(session_factory, "T-3201-0002")
    foreign = SignedClient(terminal_client.api, other.signer).post(
        "/v1/payouts", json={"token": token}, headers={"Idempotency-Key": "foreign-1"}
    )
    assert foreign.status_code == 403
    assert foreign.json()["error"]["code"] == "token_wrong_terminal"

    forged = terminal_client.post(
        "/v1/payouts", json={"token": token[:-4] + "AAAA"}, headers={"Idempotency-Key": "forged-1"}
    )
    assert forged.status_code == 401

    no_account = terminal_client.post(
        "/v1/payouts",
        json={"token": token, "channel": "account_credit"},
        headers={"Idempotency-Key": "credit-1"},
    )
    assert no_account.status_code == 422
    assert no_account.json()["error"]["code"] == "no_payout_account"

    # None of the refusals spent the token.
    paid = terminal_client.post(
        "/v1/payouts", json={"token": token}, headers={"Idempotency-Key": "finally-1"}
    )
    assert paid.status_code == 200 and paid.json()["state"] == "committed"


def test_a_refused_payout_request_cannot_be_replayed(
    terminal_client: SignedClient,
    terminal: TerminalIdentity,
    family: Family,
    agent_account: None,
    session_factory: sessionmaker[Session],
) -> None:
    """The terminal is confirmed inside the payout's transaction; when that transaction
    fails, the request's nonce is still spent, so the same signed request is not served."""
    token = token_for(session_factory, family, terminal.id)

    def send() -> httpx.Response:
        return terminal_client.post(
            "/v1/payouts",
            json={"token": token, "channel": "account_credit"},
            headers={"Idempotency-Key": "credit-2"},
            nonce="fixed-nonce-0001",
        )

    assert send().json()["error"]["code"] == "no_payout_account"
    replayed = send()
    assert replayed.status_code == 401
    assert replayed.json()["error"]["code"] == "replayed_request"


def test_a_retry_after_its_token_expired_still_gets_the_payout(
    terminal_client: SignedClient,
    terminal: TerminalIdentity,
    family: Family,
    agent_account: None,
    session_factory: sessionmaker[Session],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A new payout does not look its key up first; a retry is recognised by its spent token,
    even once that token has expired (the terminal lost the answer and asked again later)."""
    token = token_for(session_factory, family, terminal.id)
    headers = {"Idempotency-Key": "late-retry-1"}
    first = terminal_client.post("/v1/payouts", json={"token": token}, headers=headers)
    assert first.status_code == 200, first.text
    later = datetime.now(UTC) + timedelta(hours=1)
    monkeypatch.setattr("gateway.verification.tokens.utcnow", lambda: later)
    again = terminal_client.post("/v1/payouts", json={"token": token}, headers=headers)
    assert again.status_code == 200, again.text
    assert again.json()["reference"] == first.json()["reference"]
    other_key = terminal_client.post(
        "/v1/payouts", json={"token": token}, headers={"Idempotency-Key": "late-retry-2"}
    )
    assert other_key.json()["error"]["code"] == "token_expired"


def test_a_nonce_another_process_recorded_refuses_the_payout_before_any_work(
    terminal_client: SignedClient,
    terminal: TerminalIdentity,
    family: Family,
    agent_account: None,
    session_factory: sessionmaker[Session],
) -> None:
    """A copy of a request served by another process (or before a restart) is known only to
    the database: it is refused there, and its token stays unspent for the genuine payout."""
    token = token_for(session_factory, family, terminal.id)
    with unit_of_work(session_factory) as session:
        terminal_repository.record_nonce(
            session,
            keyid=f"terminal:{terminal.id}",
            nonce="served-elsewhere-0001",
            expires_at=datetime.now(UTC) + timedelta(minutes=5),
        )
    copied = terminal_client.post(
        "/v1/payouts",
        json={"token": token},
        headers={"Idempotency-Key": "copy-0001"},
        nonce="served-elsewhere-0001",
    )
    assert copied.status_code == 401
    assert copied.json()["error"]["code"] == "replayed_request"
    paid = terminal_client.post(
        "/v1/payouts", json={"token": token}, headers={"Idempotency-Key": "copy-0001"}
    )
    assert paid.status_code == 200, paid.text
    assert paid.json()["state"] == "committed"


def test_review_through_the_operator_api_needs_ops_then_a_supervisor(
    api: TestClient,
    terminal_client: SignedClient,
    terminal: TerminalIdentity,
    family: Family,
    agent_account: None,
    ops_client: SignedClient,
    session_factory: sessionmaker[Session],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    bank = api.app.state.payouts.adapters["BRI"]  # type: ignore[attr-defined]
    bank.desk.faults.force("submit", Fault.LOST_ANSWER)
    token = token_for(session_factory, family, terminal.id)
    paid = terminal_client.post(
        "/v1/payouts", json={"token": token}, headers={"Idempotency-Key": "rev-0001"}
    )
    assert paid.status_code == 202, paid.text
    reference, amount = paid.json()["reference"], paid.json()["amount"]
    with unit_of_work(session_factory) as session:
        # As the worker leaves it when the bank's status has not answered for hours.
        payout = repository.payout_by_reference(session, reference)
        assert payout is not None
        payout.state, payout.failure_code = "needs_review", "outcome_unknown"
        repository.delete_task(session, payout.id)

    listed = ops_client.get("/v1/ops/payouts/review")
    assert [(i["reference"], i["reason"]) for i in listed.json()] == [
        (reference, "outcome_unknown")
    ]
    held = {
        (sample.labels["bank"], sample.labels["reason"]): sample.value
        for family_ in text_string_to_metric_families(api.get("/metrics").text)
        if family_.name == "satupintu_payouts_in_review_rupiah"
        for sample in family_.samples
    }
    assert held == {("BRI", "outcome_unknown"): amount}

    settings = api.app.state.settings  # type: ignore[attr-defined]
    monkeypatch.setattr(settings, "payout_review_second_signature_rupiah", amount - 1)
    decision = {
        "decision": "commit",
        "reason": "The bank's statement line shows the credit.",
        "evidence": "BRIN0000000001",
    }
    proposed = ops_client.post(f"/v1/ops/payouts/review/{reference}/resolve", json=decision)
    assert proposed.status_code == 200, proposed.text
    assert proposed.json()["payout"]["awaiting_approval"] is True
    assert proposed.json()["state"] == "needs_review"
    assert ops_client.post(f"/v1/ops/payouts/review/{reference}/approve").status_code == 403
    with unit_of_work(session_factory) as session:
        key = register_operator(session, "sup-1", OperatorRole.supervisor)
    supervisor = SignedClient(api, RequestSigner(key_id="sup-1", private_key=key))
    approved = supervisor.post(f"/v1/ops/payouts/review/{reference}/approve")
    assert approved.status_code == 200, approved.text
    case = approved.json()
    assert case["state"] == "committed"
    assert [(h["actor"], h["data"]["decision"]) for h in case["history"]][:2] == [
        ("operator:sup-1", "paid"),
        ("operator:ops-1", "decision_proposed"),
    ]
    assert ops_client.get("/v1/ops/payouts/review").json() == []
    again = ops_client.post(f"/v1/ops/payouts/review/{reference}/resolve", json=decision)
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "payout_not_in_review"
