"""Taking payouts to the bank: one step for a payout, and the recovery worker's pass.

Workers are fenced: every lease raises the task's epoch, and an answer is applied only under
the epoch that asked; one coming back to a worker that lost its lease is kept, not applied.
A crash leaves `reserved` (submit again: the bank is idempotent by reference) or
`submitted` (ask the bank for the reference's status).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from adapters.base import (
    BankAdapter,
    BankAdapterError,
)
from gateway.db import unit_of_work
from gateway.payouts import ledger, repository
from gateway.payouts.models import Payout, PayoutLateAnswer
from gateway.payouts.outcomes import Asked, Outcome, apply_outcome, transfer_request
from gateway.payouts.policy import Clock, PayoutPolicy, send_window
from gateway.payouts.service import BankNotConfigured


def adapter_for(adapters: Mapping[str, BankAdapter], payout: Payout) -> BankAdapter:
    adapter = adapters.get(payout.bank_code)
    if adapter is None:
        raise BankNotConfigured(f"No bank adapter is configured for {payout.bank_code}.")
    return adapter


def _late_answer(payout_id: int, epoch: int, outcome: Outcome, now: datetime) -> PayoutLateAnswer:
    if isinstance(outcome, BankAdapterError):
        return PayoutLateAnswer(
            payout_id=payout_id,
            epoch=epoch,
            received_at=now,
            answer=outcome.code,
            detail=outcome.message[:2000],
        )
    return PayoutLateAnswer(
        payout_id=payout_id,
        epoch=epoch,
        received_at=now,
        answer=outcome.state.value,
        amount=outcome.amount,
        bank_reference=outcome.bank_reference,
        detail=outcome.reason[:2000],
    )


def drive(
    *,
    session_factory: sessionmaker[Session],
    payout_id: int,
    adapters: Mapping[str, BankAdapter],
    clock: Clock,
    policy: PayoutPolicy,
    just_reserved: Payout | None = None,
    known_accounts: ledger.KnownAccounts | None = None,
    epoch: int | None = None,
    programmes: Sequence[str] | None = None,
    pending: Sequence[ledger.PendingTransfer] | None = None,
) -> Payout:
    """Take one payout one step further with the bank: submit when reserved, else ask status.

    `just_reserved` is a payout this caller has just reserved with `submit_next`: it is
    already recorded as submitted under the first epoch, so it goes to the bank without
    another transaction. `epoch` is the lease the caller holds (the recovery worker's); the
    send is recorded under it in the transaction that checks it still holds, and the answer
    is applied only if it still holds then. `programmes`, the payout's, spare the audit entry
    a reading of its lines; `pending`, the reservations `just_reserved` booked, spare the
    commit a reading of them (under the first epoch still held, no one else resolved them).
    """
    if just_reserved is not None:
        payout, submit, epoch = just_reserved, True, repository.FIRST_EPOCH
        adapter = adapter_for(adapters, payout)
    else:
        with unit_of_work(session_factory) as session:
            found, current = repository.payout_and_epoch(session, payout_id)
            if found is None or current is None or (epoch is not None and current != epoch):
                # Finished, or leased by another worker since: this one must not send.
                return _detached(session, payout_id)
            epoch = current
            adapter = adapter_for(adapters, found)
            # Persisted before the call: after a crash we must ask, not assume nothing was sent.
            marked = repository.mark_submitted(session, payout_id, now=clock())
            submit = marked is not None
            payout = marked or found
    request = transfer_request(payout)
    asked_at = clock()
    outcome: Outcome
    try:
        outcome = (
            adapter.submit(request)
            if submit
            else adapter.status(request.reference, expected_amount=payout.amount)
        )
    except BankAdapterError as exc:
        outcome = exc
    with unit_of_work(session_factory) as session:
        answered, current = repository.payout_and_epoch(session, payout_id)
        assert answered is not None
        now = clock()
        if current != epoch:
            # Another worker holds the payout now: its own questions decide, this answer
            # is kept for reconciliation and review.
            repository.add_late_answer(session, _late_answer(payout_id, epoch, outcome, now))
        else:
            apply_outcome(
                session=session,
                payout=answered,
                asked=Asked(
                    outcome,
                    submit,
                    asked_at,
                    epoch,
                    send_window(adapter),
                    adapter.honours_expiry,
                ),
                now=now,
                policy=policy,
                known_accounts=known_accounts,
                programmes=programmes,
                pending=pending if just_reserved is not None else None,
            )
    # Closed after the commit, the session leaves the payout detached with its values loaded.
    return answered


def _detached(session: Session, payout_id: int) -> Payout:
    payout = repository.payout_by_id(session, payout_id)
    assert payout is not None
    session.expunge(payout)
    return payout


def recover(
    *,
    session_factory: sessionmaker[Session],
    adapters: Mapping[str, BankAdapter],
    clock: Clock,
    policy: PayoutPolicy,
    limit: int = 100,
    stopping: Callable[[], bool] = lambda: False,
) -> list[int]:
    """One pass of the recovery worker over payouts whose lease has expired.

    `stopping` is asked before each payout, so shutting down never waits for a whole pass.
    """
    driven: list[int] = []
    with unit_of_work(session_factory) as session:
        due = list(repository.due_task_payout_ids(session, now=clock(), limit=limit))
    for payout_id in due:
        if stopping():
            break
        with unit_of_work(session_factory) as session:
            now = clock()
            epoch = repository.lease_task(
                session, payout_id=payout_id, now=now, until=now + policy.lease
            )
        if epoch is None:
            continue
        drive(
            session_factory=session_factory,
            payout_id=payout_id,
            adapters=adapters,
            clock=clock,
            policy=policy,
            epoch=epoch,
        )
        driven.append(payout_id)
    return driven
