"""What a terminal may read of payouts, and the household facts the lines rest on."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from gateway.db import unit_of_work
from gateway.registry.models import Person
from tests.gateway.payouts.test_endpoints import Family, agent_account, family, token_for

from ..conftest import SignedClient, TerminalIdentity, register_terminal

__all__ = ["agent_account", "family"]


def test_a_payout_reads_back_whole_to_its_terminal_and_to_no_other(
    terminal_client: SignedClient,
    terminal: TerminalIdentity,
    family: Family,
    agent_account: None,
    session_factory: sessionmaker[Session],
) -> None:
    token = token_for(session_factory, family, terminal.id)
    paid = terminal_client.post(
        "/v1/payouts", json={"token": token}, headers={"Idempotency-Key": "read-back-1"}
    )
    assert paid.status_code == 200, paid.text
    reference = paid.json()["reference"]

    mine = terminal_client.get(f"/v1/payouts/{reference}")
    assert mine.status_code == 200, mine.text
    assert mine.json()["household"] == family.reference
    assert mine.json()["lines"] == paid.json()["lines"] and mine.json()["lines"]

    other = SignedClient(
        terminal_client.api, register_terminal(session_factory, "T-3201-0002").signer
    )
    for path in (f"/v1/payouts/{reference}", f"/v1/payouts/{reference}/receipt"):
        refused = other.get(path)
        assert refused.status_code == 404, refused.text
        assert refused.json()["error"]["code"] == "not_found"
    unknown = terminal_client.get("/v1/payouts/PAY-NONE")
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "not_found"


def test_a_member_who_died_before_the_day_is_due_nothing(
    terminal_client: SignedClient,
    terminal: TerminalIdentity,
    family: Family,
    agent_account: None,
    session_factory: sessionmaker[Session],
) -> None:
    with session_factory() as session:
        child = session.scalar(select(Person.id).where(Person.reference == "P-TEST-2"))
    token = token_for(session_factory, family, terminal.id)
    headers = {"X-Verification-Token": token}

    def lines_of_child() -> list[str]:
        answer = terminal_client.get("/v1/entitlements", headers=headers)
        assert answer.status_code == 200, answer.text
        return [line["key"] for line in answer.json()["lines"] if f"person:{child}" in line["key"]]

    assert lines_of_child()
    with unit_of_work(session_factory) as session:
        session.execute(
            update(Person)
            .where(Person.id == child)
            .values(deceased_on=date.today() - timedelta(days=1))
        )
    assert lines_of_child() == []
