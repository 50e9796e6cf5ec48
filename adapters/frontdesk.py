"""The simulated bank's front desk: fault injection between any client and a `SimulatedBank`.

`FrontDesk` decides, per request and by seed, whether the request is lost, declined, delivered
twice, answered late, answered garbled or answered normally, and returns what comes back (if
anything). The in-process adapter, the ISO 20022 server and the SNAP server all use it, so a
seed means the same faults on every wire.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, replace
from datetime import date, datetime

from adapters.answers import CODE_NOT_FOUND, CODE_OF, Answer
from adapters.bank import REASON_SYSTEM_DECLINE, BankTransfer, SimulatedBank
from adapters.base import TransferRequest
from adapters.faults import Fault, FaultInjector


def answer_for(reference: str, transfer: BankTransfer | None) -> Answer:
    if transfer is None:
        return Answer(reference, CODE_NOT_FOUND, reason="no transfer with this reference")
    return Answer(
        reference=reference,
        status_code=CODE_OF[transfer.state],
        amount=transfer.request.amount,
        bank_reference=transfer.bank_reference,
        reason_code=transfer.reason_code,
        reason=transfer.reason,
        settled_at=transfer.settled_at,
    )


def tamper(answer: Answer, fault: Fault) -> Answer:
    """Apply an answer-level fault; other faults leave the answer as the bank gave it."""
    if fault is Fault.MALFORMED:
        return replace(answer, garbled=True)
    if fault is Fault.UNKNOWN_STATUS:
        return replace(answer, status_code="ZZZZ")
    if fault is Fault.WRONG_REFERENCE:
        return replace(answer, reference=f"{answer.reference[:28]}-GHOST")
    if fault is Fault.WRONG_AMOUNT and answer.amount is not None:
        return replace(answer, amount=answer.amount + 1_000)
    return answer


@dataclass(frozen=True, slots=True)
class Delivery:
    """What reaches the caller: an answer after `latency` seconds, or nothing at all."""

    fault: Fault
    latency: float
    answer: Answer | None


class FrontDesk:
    """Receives requests for one bank, injecting faults, and hands back deliveries."""

    def __init__(self, bank: SimulatedBank, faults: FaultInjector | None = None) -> None:
        self.bank = bank
        self.faults = faults or FaultInjector()
        self._late: list[tuple[datetime, str]] = []
        self._lock = threading.Lock()

    def submit(self, request: TransferRequest) -> Delivery:
        fault, latency = self.faults.decide("submit", request.reference)
        if fault is Fault.TIMEOUT:
            return Delivery(fault, latency, None)
        if fault is Fault.DECLINE:
            transfer = self.bank.execute(request, decline_reason=REASON_SYSTEM_DECLINE)
        elif fault is Fault.LATE_ANSWER:
            delay = self.faults.profile.late_delay_s
            transfer = self.bank.execute(request, settle_after=delay)
            if transfer.deliveries == 1:
                with self._lock:
                    self._late.append(
                        (transfer.settle_at or transfer.accepted_at, request.reference)
                    )
            return Delivery(fault, latency, None)
        elif fault is Fault.DUPLICATE:
            self.bank.execute(request)
            transfer = self.bank.execute(request)
        else:
            transfer = self.bank.execute(request)
        if fault is Fault.LOST_ANSWER:
            return Delivery(fault, latency, None)
        return Delivery(fault, latency, tamper(answer_for(request.reference, transfer), fault))

    def status(self, reference: str) -> Delivery:
        fault, latency = self.faults.decide("status", reference)
        if fault in (Fault.TIMEOUT, Fault.LOST_ANSWER):
            return Delivery(fault, latency, None)
        answer = answer_for(reference, self.bank.lookup(reference))
        return Delivery(fault, latency, tamper(answer, fault))

    def reverse(self, reference: str, *, reversal_reference: str, reason: str) -> Delivery:
        fault, latency = self.faults.decide("reverse", reversal_reference)
        if fault is Fault.TIMEOUT:
            return Delivery(fault, latency, None)
        transfer = self.bank.reverse(
            reference, reversal_reference=reversal_reference, reason=reason
        )
        if fault is Fault.LOST_ANSWER:
            return Delivery(fault, latency, None)
        return Delivery(fault, latency, tamper(answer_for(reversal_reference, transfer), fault))

    def statement(self, day: date) -> tuple[Fault, float, bytes | None]:
        """The camt.053 document for `day`, or None when the request timed out."""
        fault, latency = self.faults.decide("statement", day.isoformat())
        if fault in (Fault.TIMEOUT, Fault.LOST_ANSWER):
            return fault, latency, None
        document = self.bank.camt053(day)
        if fault is Fault.MALFORMED:
            document = document[: len(document) // 2]
        return fault, latency, document

    def late_answers(self) -> list[Answer]:
        """Answers whose time has come after their request timed out (delivered once each)."""
        now = self.bank.clock()
        with self._lock:
            due = [ref for at, ref in self._late if at <= now]
            self._late = [(at, ref) for at, ref in self._late if at > now]
        return [answer_for(ref, self.bank.lookup(ref)) for ref in due]
