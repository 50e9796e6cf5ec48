"""The simulated bank keeps real books and injects faults deterministically by seed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from adapters.bank import SimulatedBank
from adapters.base import (
    WIB,
    AccountRef,
    OutcomeUnknown,
    TransferRejected,
    TransferRequest,
    TransferState,
)
from adapters.clock import ManualClock
from adapters.faults import Fault, FaultInjector, FaultProfile
from adapters.simulated import SimulatedBankAdapter, create


def test_books_are_double_entry_and_funds_are_checked() -> None:
    bank = SimulatedBank(opening_balance=1_000_000)
    family = bank.open_account("2002000000001", "Ibu Sari", balance=5)
    bank.execute(TransferRequest("PAY-1", 600_000, family))
    refused = bank.execute(TransferRequest("PAY-2", 600_000, family))
    assert refused.state is TransferState.REJECTED and refused.reason_code == "AM04"
    assert bank.balance(bank.settlement_account) == 400_000
    assert bank.balance(family.number) == 600_005
    assert bank.ledger_sum() == 0


def test_a_reversal_needs_the_money_to_still_be_there() -> None:
    bank = SimulatedBank()
    family = bank.open_account("2002000000001", "Ibu Sari")
    bank.execute(TransferRequest("PAY-1", 600_000, family))
    # The family cashes the money out before the reversal arrives: the return is refused.
    bank.withdraw(family.number, 600_000, reference="CASH-1")
    with pytest.raises(ValueError):
        bank.withdraw(family.number, 1, reference="CASH-2")
    back = bank.reverse("PAY-1", reversal_reference="PAY-1-R", reason="wrong family")
    assert back.state is TransferState.REJECTED
    assert bank.lookup("PAY-1").state is TransferState.SETTLED  # type: ignore[union-attr]


def test_statement_days_follow_western_indonesian_time() -> None:
    clock = ManualClock(datetime(2026, 1, 5, 16, 30, tzinfo=UTC))  # 23:30 WIB on 5 January
    bank = SimulatedBank(clock=clock, opening_balance=1_000_000)
    family = bank.open_account("2002000000001", "Ibu Sari")
    bank.execute(TransferRequest("PAY-LATE-EVENING", 1_000, family))
    clock.advance(3600)  # 00:30 WIB on 6 January, still the 5th in UTC
    bank.execute(TransferRequest("PAY-AFTER-MIDNIGHT", 2_000, family))
    fifth = bank.statement(datetime(2026, 1, 5).date())
    sixth = bank.statement(datetime(2026, 1, 6).date())
    assert "PAY-LATE-EVENING" in {e.reference for e in fifth.entries}
    assert [e.reference for e in sixth.entries] == ["PAY-AFTER-MIDNIGHT"]
    assert sixth.opening_balance == fifth.closing_balance
    assert clock().astimezone(WIB).date() == datetime(2026, 1, 6).date()


def _decisions(seed: int) -> list[tuple[Fault, float]]:
    injector = FaultInjector(
        FaultProfile(decline_rate=0.2, timeout_rate=0.2, garble_rate=0.2, latency_ms=(1, 50)),
        seed=seed,
    )
    return [injector.decide("submit", f"PAY-{i}") for i in range(200)]


def test_faults_are_deterministic_by_seed() -> None:
    assert _decisions(7) == _decisions(7)
    assert _decisions(7) != _decisions(8)
    faults = {fault for fault, _ in _decisions(7)}
    assert {Fault.NONE, Fault.DECLINE, Fault.TIMEOUT} <= faults
    assert all(0.001 <= latency <= 0.05 for _, latency in _decisions(7))


def test_decisions_do_not_depend_on_the_order_of_requests() -> None:
    profile = FaultProfile(timeout_rate=0.5)
    forward, backward = FaultInjector(profile, seed=3), FaultInjector(profile, seed=3)
    a = {f"PAY-{i}": forward.decide("submit", f"PAY-{i}") for i in range(50)}
    b = {f"PAY-{i}": backward.decide("submit", f"PAY-{i}") for i in reversed(range(50))}
    assert a == b


@pytest.mark.parametrize(
    "rates", [{"timeout_rate": -0.1}, {"decline_rate": 0.6, "garble_rate": 0.6}]
)
def test_impossible_profiles_are_refused(rates: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        FaultProfile(**rates)  # type: ignore[arg-type]


def test_slow_answers_time_out_and_late_answers_are_delivered_once() -> None:
    clock = ManualClock()
    bank = SimulatedBank(clock=clock)
    family = bank.open_account("2002000000001", "Ibu Sari")
    faults = FaultInjector(FaultProfile(latency_ms=(9000, 9000), late_delay_s=30), seed=1)
    adapter = SimulatedBankAdapter(bank, faults=faults, timeout_s=5, sleep=clock.sleep)
    start = clock()
    with pytest.raises(OutcomeUnknown):
        adapter.submit(TransferRequest("SLOW-1", 1_000, family))
    assert clock() - start == timedelta(seconds=5)  # waited exactly the timeout, virtually
    assert bank.bookings("SLOW-1") == 1  # the bank did it; only the answer was too slow
    faults.profile = FaultProfile(late_delay_s=30)
    faults.force("submit", Fault.LATE_ANSWER)
    with pytest.raises(OutcomeUnknown):
        adapter.submit(TransferRequest("LATE-1", 2_000, family))
    assert adapter.late_answers() == []
    clock.advance(31)
    late = adapter.late_answers()
    assert [(r.reference, r.state, r.amount) for r in late] == [
        ("LATE-1", TransferState.SETTLED, 2_000)
    ]
    assert adapter.late_answers() == []


def test_factory_builds_a_configured_bank() -> None:
    adapter = create(
        {"bank_code": "BNINIDJA", "opening_balance": 10, "decline_rate": 1.0, "manual_clock": True}
    )
    family = adapter.bank.open_account("2002000000001", "Ibu Sari")
    with pytest.raises(TransferRejected) as caught:
        adapter.submit(TransferRequest("F-1", 5, AccountRef("BNINIDJA", family.number)))
    assert caught.value.reason_code == "MS03"
    assert adapter.bank_code == "BNINIDJA"


def test_opening_an_existing_account_changes_nothing() -> None:
    bank = SimulatedBank()
    family = bank.open_account("2002000000001", "Ibu Sari", balance=5_000)
    again = bank.open_account("2002000000001", "Someone else", balance=9_999)
    assert again == family
    assert bank.balance(family.number) == 5_000
    assert bank.ledger_sum() == 0
