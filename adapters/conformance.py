"""The conformance kit: the pytest suite every bank adapter must pass against itself.

Use it by subclassing in a test module and providing a `target` fixture:

    class TestMyBank(BankAdapterConformance):
        @pytest.fixture
        def target(self) -> ConformanceTarget:
            ...  # the adapter, wired to a simulated back end speaking its protocol

The kit drives the adapter through a `SimulatedBank` (whose books it inspects) and its
`FaultInjector` (to force lost answers, timeouts, late answers, garbled answers), so it checks
behaviour a real bank would show: idempotent submission, status after a timeout, reversal,
statement completeness, classification of bad input, amounts to the rupiah, and that no
fault ever moves money twice.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, timedelta

import pytest

from adapters.bank import SimulatedBank
from adapters.base import (
    MAX_TRANSFER_RUPIAH,
    WIB,
    AccountRef,
    AnomalyKind,
    BankAdapter,
    BankAdapterError,
    BankResponseInvalid,
    EntryDirection,
    InvalidTransferRequest,
    OutcomeUnknown,
    ReferenceConflict,
    TransferNotReversible,
    TransferRejected,
    TransferRequest,
    TransferResult,
    TransferState,
)
from adapters.clock import ManualClock
from adapters.faults import Fault, FaultInjector, FaultProfile


@dataclass
class ConformanceTarget:
    """An adapter under test and the simulated bank behind it."""

    adapter: BankAdapter
    bank: SimulatedBank
    faults: FaultInjector
    clock: ManualClock
    # An open account at the bank, and one at another bank (credited through clearing).
    creditor: AccountRef
    foreign_creditor: AccountRef
    # Attempts the adapter makes per call: a retrying adapter absorbs fewer forced faults.
    attempts: int = 1

    def force(self, operation: str, fault: Fault, *, every_attempt: bool = True) -> None:
        self.faults.force(operation, *([fault] * (self.attempts if every_attempt else 1)))

    def today(self) -> date:
        return self.clock().astimezone(WIB).date()


def _request(target: ConformanceTarget, reference: str, amount: int = 600_000) -> TransferRequest:
    return TransferRequest(reference=reference, amount=amount, creditor=target.creditor)


def resolve(target: ConformanceTarget, request: TransferRequest) -> TransferResult:
    """What the payout recovery worker does: ask until the bank gives a final answer."""
    for _ in range(20):
        try:
            result = target.adapter.status(request.reference, expected_amount=request.amount)
        except (OutcomeUnknown, BankResponseInvalid):
            target.clock.advance(5)
            continue
        if result.state is TransferState.NOT_FOUND:
            try:
                return target.adapter.submit(request)
            except TransferRejected:
                return target.adapter.status(request.reference)
            except (OutcomeUnknown, BankResponseInvalid):
                continue
        if result.state.is_final:
            return result
        target.clock.advance(target.faults.profile.late_delay_s)
    raise AssertionError(f"{request.reference} never reached a final state")


class BankAdapterConformance:
    """The contract of `adapters.base.BankAdapter`, as executable checks."""

    @pytest.fixture
    def target(self) -> ConformanceTarget:
        raise NotImplementedError("subclasses provide the adapter under test")

    # -- shape and submission ---------------------------------------------------------------

    def test_implements_the_protocol(self, target: ConformanceTarget) -> None:
        assert isinstance(target.adapter, BankAdapter)
        assert target.adapter.bank_code == target.bank.bank_code
        assert target.adapter.health().ok

    def test_submit_settles_and_moves_the_money_once(self, target: ConformanceTarget) -> None:
        before = target.bank.balance(target.creditor.number)
        result = target.adapter.submit(_request(target, "CONF-SETTLE-1", 750_000))
        assert result.state is TransferState.SETTLED
        assert result.reference == "CONF-SETTLE-1"
        assert result.amount == 750_000
        assert result.bank_reference
        assert target.bank.balance(target.creditor.number) - before == 750_000
        assert target.bank.bookings("CONF-SETTLE-1") == 1

    def test_submit_is_idempotent_by_reference(self, target: ConformanceTarget) -> None:
        request = _request(target, "CONF-IDEM-1")
        first = target.adapter.submit(request)
        again = [target.adapter.submit(request) for _ in range(3)]
        assert {r.bank_reference for r in again} == {first.bank_reference}
        assert all(r.state is TransferState.SETTLED for r in again)
        assert target.bank.bookings("CONF-IDEM-1") == 1

    def test_an_instruction_arriving_after_its_expiry_is_refused(
        self, target: ConformanceTarget
    ) -> None:
        """Where the adapter says the bank honours expiries, a late arrival moves nothing
        (so a payout voided after its expiry can never be paid by a send still on its way)."""
        if not target.adapter.honours_expiry:
            pytest.skip("this rail carries no expiry")
        expired = TransferRequest(
            "CONF-EXPIRED-1",
            1_000,
            target.creditor,
            expires_at=target.clock() - timedelta(seconds=1),
        )
        with pytest.raises(TransferRejected) as refused:
            target.adapter.submit(expired)
        assert refused.value.reason_code == "TM01"
        assert target.bank.bookings("CONF-EXPIRED-1") == 0
        fresh = replace(
            expired, reference="CONF-EXPIRED-2", expires_at=target.clock() + timedelta(minutes=10)
        )
        assert target.adapter.submit(fresh).state is TransferState.SETTLED

    def test_reference_reused_for_other_terms_is_a_conflict(
        self, target: ConformanceTarget
    ) -> None:
        target.adapter.submit(_request(target, "CONF-CONFLICT-1", 100_000))
        with pytest.raises(ReferenceConflict):
            target.adapter.submit(_request(target, "CONF-CONFLICT-1", 200_000))
        assert target.bank.bookings("CONF-CONFLICT-1") == 1

    def test_foreign_creditor_goes_through_clearing(self, target: ConformanceTarget) -> None:
        request = TransferRequest("CONF-FOREIGN-1", 300_000, target.foreign_creditor)
        assert target.adapter.submit(request).state is TransferState.SETTLED

    def test_invalid_request_never_reaches_the_bank(self, target: ConformanceTarget) -> None:
        with pytest.raises(InvalidTransferRequest):
            TransferRequest("CONF-BAD-1", 1.5, target.creditor)  # type: ignore[arg-type]
        with pytest.raises(InvalidTransferRequest):
            TransferRequest("CONF-BAD-2", MAX_TRANSFER_RUPIAH + 1, target.creditor)
        with pytest.raises(InvalidTransferRequest):
            TransferRequest("not a reference!", 1_000, target.creditor)
        assert target.bank.lookup("CONF-BAD-1") is None

    # -- definite failures -----------------------------------------------------------------

    def test_closed_account_is_a_definite_rejection(self, target: ConformanceTarget) -> None:
        closed = target.bank.open_account("3003000000099", "Closed account")
        target.bank.close_account(closed.number)
        request = TransferRequest("CONF-DECLINE-1", 500_000, closed)
        with pytest.raises(TransferRejected) as caught:
            target.adapter.submit(request)
        assert caught.value.reference == "CONF-DECLINE-1"
        assert target.adapter.status("CONF-DECLINE-1").state is TransferState.REJECTED
        assert target.bank.bookings("CONF-DECLINE-1") == 0
        with pytest.raises(TransferRejected):
            target.adapter.submit(request)  # a repeat is the same rejection, still unbooked
        assert target.bank.bookings("CONF-DECLINE-1") == 0

    def test_system_decline_is_a_definite_rejection(self, target: ConformanceTarget) -> None:
        target.force("submit", Fault.DECLINE, every_attempt=False)
        with pytest.raises(TransferRejected):
            target.adapter.submit(_request(target, "CONF-DECLINE-2"))
        assert target.bank.bookings("CONF-DECLINE-2") == 0

    # -- unknown outcomes ------------------------------------------------------------------

    def test_unknown_reference_is_not_found(self, target: ConformanceTarget) -> None:
        assert target.adapter.status("CONF-NEVER-SENT").state is TransferState.NOT_FOUND

    def test_lost_answer_is_resolved_by_status(self, target: ConformanceTarget) -> None:
        request = _request(target, "CONF-LOST-1")
        target.force("submit", Fault.LOST_ANSWER)
        try:
            result = target.adapter.submit(request)
        except OutcomeUnknown:
            result = target.adapter.status(request.reference, expected_amount=request.amount)
        assert result.state is TransferState.SETTLED
        assert target.bank.bookings("CONF-LOST-1") == 1

    def test_timeout_leaves_nothing_booked_and_resubmit_is_safe(
        self, target: ConformanceTarget
    ) -> None:
        request = _request(target, "CONF-TIMEOUT-1")
        target.force("submit", Fault.TIMEOUT)
        with pytest.raises(OutcomeUnknown):
            target.adapter.submit(request)
        assert target.adapter.status(request.reference).state is TransferState.NOT_FOUND
        assert target.adapter.submit(request).state is TransferState.SETTLED
        assert target.bank.bookings("CONF-TIMEOUT-1") == 1

    def test_status_query_that_times_out_is_unknown(self, target: ConformanceTarget) -> None:
        target.adapter.submit(_request(target, "CONF-TIMEOUT-2"))
        target.force("status", Fault.TIMEOUT)
        with pytest.raises(OutcomeUnknown):
            target.adapter.status("CONF-TIMEOUT-2")

    def test_late_answer_is_pending_until_the_bank_settles(self, target: ConformanceTarget) -> None:
        request = _request(target, "CONF-LATE-1")
        target.force("submit", Fault.LATE_ANSWER, every_attempt=False)
        try:
            first = target.adapter.submit(request)
            assert first.state is TransferState.PENDING
        except OutcomeUnknown:
            pass
        assert target.adapter.status(request.reference).state is TransferState.PENDING
        assert target.bank.bookings("CONF-LATE-1") == 0
        target.clock.advance(target.faults.profile.late_delay_s + 1)
        settled = target.adapter.status(request.reference, expected_amount=request.amount)
        assert settled.state is TransferState.SETTLED
        assert target.bank.bookings("CONF-LATE-1") == 1

    def test_duplicate_delivery_books_once(self, target: ConformanceTarget) -> None:
        target.force("submit", Fault.DUPLICATE, every_attempt=False)
        result = target.adapter.submit(_request(target, "CONF-DUP-1"))
        assert result.state is TransferState.SETTLED
        assert target.bank.bookings("CONF-DUP-1") == 1

    # -- bad bank input --------------------------------------------------------------------

    @pytest.mark.parametrize(
        ("fault", "kind"),
        [
            (Fault.MALFORMED, AnomalyKind.MALFORMED_MESSAGE),
            (Fault.UNKNOWN_STATUS, AnomalyKind.UNKNOWN_STATUS_CODE),
            (Fault.WRONG_REFERENCE, AnomalyKind.UNKNOWN_REFERENCE),
            (Fault.WRONG_AMOUNT, AnomalyKind.AMOUNT_MISMATCH),
        ],
    )
    def test_bad_answers_are_classified_never_paid(
        self, target: ConformanceTarget, fault: Fault, kind: AnomalyKind
    ) -> None:
        request = _request(target, f"CONF-BAD-{fault.value[:10].upper().replace('_', '')}")
        target.force("submit", fault, every_attempt=False)
        with pytest.raises(BankResponseInvalid) as caught:
            target.adapter.submit(request)
        assert caught.value.kind is kind
        assert caught.value.reference == request.reference
        # The anomaly proves nothing; the payout resolves it by asking, with the amount it sent.
        target.force("status", fault, every_attempt=False)
        with pytest.raises(BankResponseInvalid) as again:
            target.adapter.status(request.reference, expected_amount=request.amount)
        assert again.value.kind is kind
        assert resolve(target, request).state is TransferState.SETTLED
        assert target.bank.bookings(request.reference) == 1

    # -- reversal --------------------------------------------------------------------------

    def test_reversal_returns_the_money_once(self, target: ConformanceTarget) -> None:
        settlement = target.bank.settlement_account
        start = target.bank.balance(settlement)
        target.adapter.submit(_request(target, "CONF-REV-1", 425_000))
        reversal = target.adapter.reverse(
            "CONF-REV-1", reversal_reference="CONF-REV-1-R", reason="paid to the wrong family"
        )
        assert reversal.reference == "CONF-REV-1-R"
        assert reversal.state is TransferState.SETTLED
        assert reversal.amount == 425_000
        again = target.adapter.reverse(
            "CONF-REV-1", reversal_reference="CONF-REV-1-R", reason="paid to the wrong family"
        )
        assert again.bank_reference == reversal.bank_reference
        assert target.adapter.status("CONF-REV-1").state is TransferState.REVERSED
        assert target.bank.balance(settlement) == start
        assert target.bank.bookings("CONF-REV-1-R") == 1

    def test_only_settled_transfers_can_be_reversed(self, target: ConformanceTarget) -> None:
        with pytest.raises(TransferNotReversible):
            target.adapter.reverse("CONF-NEVER-SENT", reversal_reference="CONF-NS-R", reason="x")
        closed = target.bank.open_account("3003000000098", "Closed account")
        target.bank.close_account(closed.number)
        with pytest.raises(TransferRejected):
            target.adapter.submit(TransferRequest("CONF-REJ-1", 1_000, closed))
        with pytest.raises(TransferNotReversible):
            target.adapter.reverse("CONF-REJ-1", reversal_reference="CONF-REJ-1-R", reason="x")

    # -- statements and amounts ------------------------------------------------------------

    def test_statement_is_complete_and_adds_up(self, target: ConformanceTarget) -> None:
        closed = target.bank.open_account("3003000000097", "Closed account")
        target.bank.close_account(closed.number)
        paid = {f"CONF-STMT-{i}": 100_000 * (i + 1) for i in range(5)}
        for reference, amount in paid.items():
            target.adapter.submit(_request(target, reference, amount))
        with pytest.raises(TransferRejected):
            target.adapter.submit(TransferRequest("CONF-STMT-X", 1_000, closed))
        target.adapter.reverse("CONF-STMT-0", reversal_reference="CONF-STMT-0-R", reason="x")
        statement = target.adapter.statement(target.today())
        assert statement.is_balanced()
        assert statement.account == target.bank.settlement_account
        assert statement.closing_balance == target.bank.balance(target.bank.settlement_account)
        debits = {
            e.reference: e.amount for e in statement.entries if e.direction is EntryDirection.DEBIT
        }
        assert {r: debits.get(r) for r in paid} == paid
        assert "CONF-STMT-X" not in {e.reference for e in statement.entries}
        returns = [e for e in statement.entries if e.reference == "CONF-STMT-0-R"]
        assert len(returns) == 1
        assert returns[0].direction is EntryDirection.CREDIT
        assert returns[0].reversal_of == "CONF-STMT-0"

    @pytest.mark.parametrize("amount", [1, 999_999, 123_456_789, MAX_TRANSFER_RUPIAH])
    def test_amounts_are_exact_to_the_rupiah(self, target: ConformanceTarget, amount: int) -> None:
        before = target.bank.balance(target.creditor.number)
        reference = f"CONF-AMT-{amount}"
        result = target.adapter.submit(_request(target, reference, amount))
        assert result.amount == amount
        assert isinstance(result.amount, int)
        assert target.adapter.status(reference, expected_amount=amount).amount == amount
        assert target.bank.balance(target.creditor.number) - before == amount
        entries = target.adapter.statement(target.today()).entries
        assert [e.amount for e in entries if e.reference == reference] == [amount]

    # -- everything at once ----------------------------------------------------------------

    def test_random_faults_never_pay_twice_or_lose_a_payment(
        self, target: ConformanceTarget
    ) -> None:
        target.faults.profile = FaultProfile(
            decline_rate=0.05,
            timeout_rate=0.1,
            lost_answer_rate=0.1,
            late_answer_rate=0.05,
            duplicate_rate=0.1,
            garble_rate=0.1,
            late_delay_s=60,
        )
        outcomes: dict[str, TransferState] = {}
        for i in range(25):
            request = _request(target, f"CONF-RND-{i}", 10_000 + i)
            try:
                outcomes[request.reference] = target.adapter.submit(request).state
            except TransferRejected:
                outcomes[request.reference] = TransferState.REJECTED
            except (OutcomeUnknown, BankResponseInvalid):
                outcomes[request.reference] = resolve(target, request).state
            except BankAdapterError as exc:  # pragma: no cover - a failure message, not a path
                pytest.fail(f"unexpected {exc.code} for {request.reference}: {exc}")
        target.faults.profile = FaultProfile()
        for reference, state in outcomes.items():
            final = resolve(target, _request(target, reference, 10_000 + int(reference[9:])))
            booked = target.bank.bookings(reference)
            if state is TransferState.REJECTED:
                assert booked == 0
            elif state is TransferState.PENDING:
                assert final.state is TransferState.SETTLED
            else:
                assert state is TransferState.SETTLED
                assert booked == 1
            assert booked <= 1
        assert target.bank.ledger_sum() == 0
