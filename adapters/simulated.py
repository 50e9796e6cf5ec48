"""The in-process `BankAdapter` over a `SimulatedBank`, and its entry-point factory.

The bank itself (accounts, double-entry ledger, idempotent transfers, late settlement,
reversals, camt.053 statements) lives in `adapters.bank`; faults are injected by the
`adapters.frontdesk.FrontDesk` this adapter talks through, deterministically by seed.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import date
from typing import Any

from adapters.answers import STATUS_CODES, Answer, raise_if_rejected
from adapters.bank import SimulatedBank
from adapters.base import (
    AnomalyKind,
    BankResponseInvalid,
    HealthReport,
    OutcomeUnknown,
    Statement,
    TransferRequest,
    TransferResult,
    check_reference,
)
from adapters.checks import map_status, verify_result
from adapters.clock import ManualClock
from adapters.faults import FaultInjector, FaultProfile
from adapters.frontdesk import Delivery, FrontDesk


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


class SimulatedBankAdapter:
    """A `BankAdapter` talking to a `SimulatedBank` in-process, through a fault-injecting desk.

    Latency and timeouts use the injected `sleep`, so with a `ManualClock` a five-second
    timeout costs nothing in a test. An answer slower than `timeout_s` is treated as lost.
    `honour_expiry=False` strips the expiry from each transfer, as a rail without one would.
    """

    def __init__(
        self,
        bank: SimulatedBank,
        *,
        faults: FaultInjector | None = None,
        timeout_s: float = 5.0,
        sleep: Callable[[float], None] = time.sleep,
        honour_expiry: bool = True,
    ) -> None:
        self.bank = bank
        self.desk = FrontDesk(bank, faults)
        self.timeout_s = timeout_s
        self._sleep = sleep
        self._honour_expiry = honour_expiry

    @property
    def bank_code(self) -> str:
        return self.bank.bank_code

    @property
    def longest_call_s(self) -> float:
        """One attempt: an answer slower than the timeout is given up on."""
        return self.timeout_s

    @property
    def honours_expiry(self) -> bool:
        return self._honour_expiry

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
        if not self._honour_expiry and transfer.expires_at is not None:
            transfer = replace(transfer, expires_at=None)
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
        sleep=clock.sleep if clock else time.sleep,
    )
