"""The simulated bank's front desk (fault injection) and its in-process `BankAdapter`.

`FrontDesk` sits between any client and a `SimulatedBank`: it decides, per request and by seed,
whether the request is lost, declined, delivered twice, answered late, answered garbled or
answered normally, and returns what comes back (if anything). The ISO 20022 and SNAP servers use
the same desk, so a seed means the same faults on every wire.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any

from adapters.bank import REASON_SYSTEM_DECLINE, BankTransfer, SimulatedBank
from adapters.base import (
    AnomalyKind,
    BankResponseInvalid,
    HealthReport,
    OutcomeUnknown,
    Statement,
    TransferRejected,
    TransferRequest,
    TransferResult,
    TransferState,
    check_reference,
)
from adapters.checks import map_status, verify_result
from adapters.clock import ManualClock
from adapters.faults import Fault, FaultInjector, FaultProfile

# Answer codes: ISO 20022 transaction statuses plus two proprietary ones the pacs.002 status
# report carries as reasons (a reversed transfer, a reference the bank never received).
CODE_SETTLED = "ACSC"
CODE_PENDING = "ACSP"
CODE_REJECTED = "RJCT"
CODE_REVERSED = "RVSD"
CODE_NOT_FOUND = "NOTF"
STATUS_CODES: Mapping[str, TransferState] = {
    CODE_SETTLED: TransferState.SETTLED,
    "ACCC": TransferState.SETTLED,
    CODE_PENDING: TransferState.PENDING,
    "ACTC": TransferState.PENDING,
    "PDNG": TransferState.PENDING,
    CODE_REJECTED: TransferState.REJECTED,
    CODE_REVERSED: TransferState.REVERSED,
    CODE_NOT_FOUND: TransferState.NOT_FOUND,
}
_CODE_OF = {
    TransferState.SETTLED: CODE_SETTLED,
    TransferState.PENDING: CODE_PENDING,
    TransferState.REJECTED: CODE_REJECTED,
    TransferState.REVERSED: CODE_REVERSED,
    TransferState.NOT_FOUND: CODE_NOT_FOUND,
}


@dataclass(frozen=True, slots=True)
class Answer:
    """What the bank says about one reference, before any wire format."""

    reference: str
    status_code: str
    amount: int | None = None
    bank_reference: str | None = None
    reason_code: str | None = None
    reason: str = ""
    settled_at: datetime | None = None
    garbled: bool = False  # the wire rendering must be broken (malformed XML / JSON)


def answer_for(reference: str, transfer: BankTransfer | None) -> Answer:
    if transfer is None:
        return Answer(reference, CODE_NOT_FOUND, reason="no transfer with this reference")
    return Answer(
        reference=reference,
        status_code=_CODE_OF[transfer.state],
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


def result_of(answer: Answer, *, reference: str, expected_amount: int | None) -> TransferResult:
    """Turn an answer into a checked `TransferResult` (the in-process wire format)."""
    if answer.garbled:
        raise BankResponseInvalid(
            f"answer for {reference} arrived garbled",
            kind=AnomalyKind.MALFORMED_MESSAGE,
            reference=reference,
        )
    state = map_status(answer.status_code, STATUS_CODES, reference=reference)
    result = TransferResult(
        reference=answer.reference,
        state=state,
        amount=answer.amount,
        bank_reference=answer.bank_reference,
        reason_code=answer.reason_code,
        reason=answer.reason,
        settled_at=answer.settled_at,
    )
    return verify_result(result, reference=reference, expected_amount=expected_amount)


def raise_if_rejected(result: TransferResult) -> TransferResult:
    """A submission answered REJECTED is the definite failure the payout may void on."""
    if result.state is TransferState.REJECTED:
        raise TransferRejected(
            f"bank rejected {result.reference}: {result.reason or 'no reason given'}",
            reference=result.reference,
            reason_code=result.reason_code or "NARR",
        )
    return result


class SimulatedBankAdapter:
    """A `BankAdapter` talking to a `SimulatedBank` in-process, through a fault-injecting desk.

    Latency and timeouts use the injected `sleep`, so with a `ManualClock` a five-second
    timeout costs nothing in a test. An answer slower than `timeout_s` is treated as lost.
    """

    def __init__(
        self,
        bank: SimulatedBank,
        *,
        faults: FaultInjector | None = None,
        timeout_s: float = 5.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.bank = bank
        self.desk = FrontDesk(bank, faults)
        self.timeout_s = timeout_s
        self._sleep = sleep

    @property
    def bank_code(self) -> str:
        return self.bank.bank_code

    def _receive(self, delivery: Delivery, what: str, reference: str) -> Answer:
        if delivery.answer is None or delivery.latency > self.timeout_s:
            self._sleep(self.timeout_s)
            raise OutcomeUnknown(
                f"no answer from {self.bank_code} to {what} {reference} within "
                f"{self.timeout_s:g}s ({delivery.fault.value})",
                reference=reference,
            )
        self._sleep(delivery.latency)
        return delivery.answer

    def submit(self, transfer: TransferRequest) -> TransferResult:
        answer = self._receive(self.desk.submit(transfer), "transfer", transfer.reference)
        result = result_of(answer, reference=transfer.reference, expected_amount=transfer.amount)
        return raise_if_rejected(result)

    def status(self, reference: str, *, expected_amount: int | None = None) -> TransferResult:
        check_reference(reference)
        answer = self._receive(self.desk.status(reference), "status query", reference)
        return result_of(answer, reference=reference, expected_amount=expected_amount)

    def reverse(self, reference: str, *, reversal_reference: str, reason: str) -> TransferResult:
        check_reference(reference)
        delivery = self.desk.reverse(
            reference, reversal_reference=reversal_reference, reason=reason
        )
        answer = self._receive(delivery, "reversal", reversal_reference)
        return raise_if_rejected(
            result_of(answer, reference=reversal_reference, expected_amount=None)
        )

    def statement(self, day: date) -> Statement:
        from adapters.iso20022.camt053 import read_camt053

        fault, latency, document = self.desk.statement(day)
        if document is None or latency > self.timeout_s:
            self._sleep(self.timeout_s)
            raise OutcomeUnknown(f"no statement from {self.bank_code} for {day} ({fault.value})")
        self._sleep(latency)
        return read_camt053(document)

    def health(self) -> HealthReport:
        started = time.perf_counter()
        self.bank.balance(self.bank.settlement_account)
        elapsed = (time.perf_counter() - started) * 1000
        return HealthReport(True, self.bank_code, elapsed, "in-process simulated bank")

    def late_answers(self) -> list[TransferResult]:
        """Answers that arrived after their submission timed out: to flag, never to apply."""
        return [
            TransferResult(
                reference=a.reference,
                state=STATUS_CODES[a.status_code],
                amount=a.amount,
                bank_reference=a.bank_reference,
                reason_code=a.reason_code,
                reason=a.reason,
                settled_at=a.settled_at,
            )
            for a in self.desk.late_answers()
        ]


def create(config: Mapping[str, Any]) -> SimulatedBankAdapter:
    """Entry-point factory: a fresh simulated bank from configuration (all keys optional).

    Keys: bank_code, settlement_account, opening_balance, seed, timeout_s, and the
    `FaultProfile` fields (decline_rate, timeout_rate, ..., latency_ms as [low, high]).
    """
    profile_fields = set(FaultProfile.__dataclass_fields__)
    profile_args = {k: v for k, v in config.items() if k in profile_fields}
    if "latency_ms" in profile_args:
        low, high = profile_args["latency_ms"]
        profile_args["latency_ms"] = (float(low), float(high))
    manual = bool(config.get("manual_clock", False))
    clock = ManualClock() if manual else None
    bank = SimulatedBank(
        bank_code=str(config.get("bank_code", "BRINIDJA")),
        settlement_account=str(config.get("settlement_account", "1001000000001")),
        opening_balance=int(config.get("opening_balance", 10_000_000_000)),
        **({"clock": clock} if clock else {}),
    )
    faults = FaultInjector(FaultProfile(**profile_args), seed=int(config.get("seed", 0)))
    return SimulatedBankAdapter(
        bank,
        faults=faults,
        timeout_s=float(config.get("timeout_s", 5.0)),
        **({"sleep": clock.sleep} if clock else {}),
    )
