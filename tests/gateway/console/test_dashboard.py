"""The register's count of households due is reused for a while, then read again."""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker

from gateway.console.dashboard import RegisterCounts
from gateway.db import unit_of_work
from gateway.registry import repository


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _household(session: Session, card: str, programme: str) -> None:
    ids = repository.insert_households(
        session,
        [{"reference": f"hh_{card}", "family_card_number": card, "province_code": "73",
          "regency_code": "71", "district_code": "01", "graduated": False}],
    )  # fmt: skip
    repository.insert_memberships(
        session, [{"household_id": ids[card], "programme_code": programme}]
    )


def test_counts_are_reused_within_their_time_and_read_again_after(
    session_factory: sessionmaker[Session],
) -> None:
    clock = Clock()
    counts = RegisterCounts(ttl_s=60, clock=clock)
    with unit_of_work(session_factory) as session:
        _household(session, "7371010000000001", "PKH")
        assert counts.get(session) == {("7371", "PKH"): 1}
        _household(session, "7371010000000002", "PKH")
        clock.now = 59
        assert counts.get(session) == {("7371", "PKH"): 1}
        clock.now = 60
        assert counts.get(session) == {("7371", "PKH"): 2}
