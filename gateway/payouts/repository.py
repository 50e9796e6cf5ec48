"""Every query of the money half; services call these and never build SQL themselves."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

from sqlalchemy import delete, exists, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased

from gateway.payouts.entitlements import HouseholdFacts, MemberFacts
from gateway.payouts.models import (
    EntitlementClaim,
    LedgerAccount,
    LedgerTransfer,
    Payout,
    PayoutAccount,
    PayoutLine,
    PayoutTask,
)
from gateway.registry.models import Household, Person, ProgrammeMembership


def account_id(session: Session, code: str) -> int | None:
    return session.scalar(select(LedgerAccount.id).where(LedgerAccount.code == code))


def account_by_code(session: Session, code: str) -> LedgerAccount | None:
    return session.scalar(select(LedgerAccount).where(LedgerAccount.code == code))


def insert_account_if_absent(session: Session, *, code: str, kind: str, guarded: bool) -> int:
    """Create the account unless a concurrent transaction already did; return its id."""
    existing = account_id(session, code)
    if existing is not None:
        return existing
    try:
        with session.begin_nested():
            account = LedgerAccount(
                code=code,
                kind=kind,
                guarded=guarded,
                debits_posted=0,
                credits_posted=0,
                debits_pending=0,
                credits_pending=0,
            )
            session.add(account)
            session.flush()
            return account.id
    except IntegrityError:
        found = account_id(session, code)
        if found is None:
            raise
        return found


def add_debit(session: Session, account: int, amount: int, *, pending: bool) -> bool:
    """Debit an account atomically; False when a guarded account would go below zero.

    The guard sits in the UPDATE's WHERE clause, so concurrent debits serialise on the row and
    each re-checks the balance left by the one before it.
    """
    column = LedgerAccount.debits_pending if pending else LedgerAccount.debits_posted
    result = session.execute(
        update(LedgerAccount)
        .where(LedgerAccount.id == account)
        .where(
            ~LedgerAccount.guarded
            | (
                LedgerAccount.debits_posted + LedgerAccount.debits_pending + amount
                <= LedgerAccount.credits_posted
            )
        )
        .values({column: column + amount})
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def add_credit(session: Session, account: int, amount: int, *, pending: bool) -> None:
    column = LedgerAccount.credits_pending if pending else LedgerAccount.credits_posted
    session.execute(
        update(LedgerAccount)
        .where(LedgerAccount.id == account)
        .values({column: column + amount})
        .execution_options(synchronize_session=False)
    )


def move_pending_to_posted(session: Session, transfer: LedgerTransfer, *, post: bool) -> None:
    """Release a pending transfer's reservation, and post it when `post` is true."""
    amount = transfer.amount
    debit_values = {LedgerAccount.debits_pending: LedgerAccount.debits_pending - amount}
    credit_values = {LedgerAccount.credits_pending: LedgerAccount.credits_pending - amount}
    if post:
        debit_values[LedgerAccount.debits_posted] = LedgerAccount.debits_posted + amount
        credit_values[LedgerAccount.credits_posted] = LedgerAccount.credits_posted + amount
    for account, values in (
        (transfer.debit_account_id, debit_values),
        (transfer.credit_account_id, credit_values),
    ):
        session.execute(
            update(LedgerAccount)
            .where(LedgerAccount.id == account)
            .values(values)
            .execution_options(synchronize_session=False)
        )


def insert_transfer(session: Session, transfer: LedgerTransfer) -> LedgerTransfer:
    session.add(transfer)
    session.flush()
    return transfer


def transfer_by_id(session: Session, transfer_id: int) -> LedgerTransfer | None:
    return session.get(LedgerTransfer, transfer_id)


def resolution_of(session: Session, pending_id: int) -> LedgerTransfer | None:
    return session.scalar(select(LedgerTransfer).where(LedgerTransfer.pending_id == pending_id))


def unresolved_pending(session: Session, payout_id: int) -> Sequence[LedgerTransfer]:
    """A payout's reservations not yet posted or voided, in one query."""
    resolution = aliased(LedgerTransfer)
    return session.scalars(
        select(LedgerTransfer)
        .where(LedgerTransfer.payout_id == payout_id, LedgerTransfer.kind == "pending")
        .where(~exists().where(resolution.pending_id == LedgerTransfer.id))
        .order_by(LedgerTransfer.id)
    ).all()


def all_accounts(session: Session) -> Sequence[LedgerAccount]:
    return session.scalars(select(LedgerAccount).order_by(LedgerAccount.id)).all()


def transfer_totals(session: Session) -> dict[int, dict[str, int]]:
    """Per-account totals recomputed from the immutable transfers alone."""
    totals: dict[int, dict[str, int]] = {}

    def slot(account: int) -> dict[str, int]:
        return totals.setdefault(
            account,
            {"debits_posted": 0, "credits_posted": 0, "debits_pending": 0, "credits_pending": 0},
        )

    resolved = select(LedgerTransfer.pending_id).where(LedgerTransfer.pending_id.is_not(None))
    rows = session.execute(
        select(
            LedgerTransfer.debit_account_id,
            LedgerTransfer.credit_account_id,
            LedgerTransfer.kind,
            func.sum(LedgerTransfer.amount),
            LedgerTransfer.id.in_(resolved),
        ).group_by(
            LedgerTransfer.debit_account_id,
            LedgerTransfer.credit_account_id,
            LedgerTransfer.kind,
            LedgerTransfer.id.in_(resolved),
        )
    ).all()
    for debit, credit, kind, amount, is_resolved in rows:
        amount = int(amount)
        if kind in ("posted", "post_pending"):
            slot(debit)["debits_posted"] += amount
            slot(credit)["credits_posted"] += amount
        elif kind == "pending" and not is_resolved:
            slot(debit)["debits_pending"] += amount
            slot(credit)["credits_pending"] += amount
    return totals


def funded_total(session: Session, *, funding: int, budget: int) -> int:
    """Net amount moved from the funding account into a budget so far."""
    into = session.scalar(
        select(func.coalesce(func.sum(LedgerTransfer.amount), 0)).where(
            LedgerTransfer.debit_account_id == funding,
            LedgerTransfer.credit_account_id == budget,
            LedgerTransfer.kind == "posted",
        )
    )
    back = session.scalar(
        select(func.coalesce(func.sum(LedgerTransfer.amount), 0)).where(
            LedgerTransfer.debit_account_id == budget,
            LedgerTransfer.credit_account_id == funding,
            LedgerTransfer.kind == "posted",
        )
    )
    return int(into or 0) - int(back or 0)


# Payouts


def payout_by_key(session: Session, *, terminal_id: str, idempotency_key: str) -> Payout | None:
    return session.scalar(
        select(Payout).where(
            Payout.terminal_id == terminal_id, Payout.idempotency_key == idempotency_key
        )
    )


def payout_by_id(session: Session, payout_id: int, *, for_update: bool = False) -> Payout | None:
    statement = select(Payout).where(Payout.id == payout_id)
    if for_update:
        statement = statement.with_for_update()
    return session.scalar(statement.execution_options(populate_existing=True))


def payout_by_reference(session: Session, reference: str) -> Payout | None:
    return session.scalar(select(Payout).where(Payout.reference == reference))


def payouts_for_bank_day(
    session: Session, *, bank_code: str, start: datetime, end: datetime
) -> Sequence[Payout]:
    return session.scalars(
        select(Payout)
        .where(Payout.bank_code == bank_code, Payout.created_at >= start, Payout.created_at < end)
        .order_by(Payout.id)
    ).all()


def payouts_in_states(session: Session, states: Sequence[str]) -> Sequence[Payout]:
    return session.scalars(select(Payout).where(Payout.state.in_(states)).order_by(Payout.id)).all()


def add_all(session: Session, rows: Sequence[object]) -> None:
    session.add_all(rows)
    session.flush()


def lines_of(session: Session, payout_id: int) -> Sequence[PayoutLine]:
    return session.scalars(
        select(PayoutLine).where(PayoutLine.payout_id == payout_id).order_by(PayoutLine.id)
    ).all()


def claims_for_subjects(
    session: Session, subjects: Sequence[str]
) -> Sequence[tuple[str, str, str, str]]:
    rows = session.execute(
        select(
            EntitlementClaim.programme,
            EntitlementClaim.component,
            EntitlementClaim.subject,
            EntitlementClaim.period,
        ).where(EntitlementClaim.subject.in_(subjects))
    ).all()
    return [tuple(row) for row in rows]  # type: ignore[misc]


def insert_claims(session: Session, claims: Sequence[EntitlementClaim]) -> bool:
    """Claim entitlements; False when any is already claimed by a live payout."""
    try:
        with session.begin_nested():
            session.add_all(claims)
            session.flush()
    except IntegrityError:
        return False
    return True


def release_claims(session: Session, payout_id: int) -> None:
    session.execute(delete(EntitlementClaim).where(EntitlementClaim.payout_id == payout_id))


def insert_payout(session: Session, payout: Payout) -> bool:
    """Insert a payout; False when the (terminal, idempotency key) or token is taken."""
    try:
        with session.begin_nested():
            session.add(payout)
            session.flush()
    except IntegrityError:
        return False
    return True


def upsert_task(session: Session, *, payout_id: int, leased_until: datetime) -> None:
    task = session.scalar(select(PayoutTask).where(PayoutTask.payout_id == payout_id))
    if task is None:
        session.add(PayoutTask(payout_id=payout_id, leased_until=leased_until, attempts=0))
    else:
        task.leased_until = leased_until
    session.flush()


def delete_task(session: Session, payout_id: int) -> None:
    session.execute(delete(PayoutTask).where(PayoutTask.payout_id == payout_id))


def lease_task(session: Session, *, payout_id: int, now: datetime, until: datetime) -> bool:
    """Take the task's lease when it has expired; the conditional UPDATE makes it exclusive."""
    result = session.execute(
        update(PayoutTask)
        .where(PayoutTask.payout_id == payout_id, PayoutTask.leased_until <= now)
        .values(leased_until=until, attempts=PayoutTask.attempts + 1)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def due_task_payout_ids(session: Session, *, now: datetime, limit: int) -> Sequence[int]:
    return session.scalars(
        select(PayoutTask.payout_id)
        .where(PayoutTask.leased_until <= now)
        .order_by(PayoutTask.leased_until, PayoutTask.payout_id)
        .limit(limit)
    ).all()


def payout_account(session: Session, *, owner_kind: str, owner_id: str) -> PayoutAccount | None:
    return session.scalar(
        select(PayoutAccount).where(
            PayoutAccount.owner_kind == owner_kind, PayoutAccount.owner_id == owner_id
        )
    )


def set_payout_account(
    session: Session, *, owner_kind: str, owner_id: str, bank_code: str, number: str, name: str
) -> PayoutAccount:
    account = payout_account(session, owner_kind=owner_kind, owner_id=owner_id)
    if account is None:
        account = PayoutAccount(owner_kind=owner_kind, owner_id=owner_id)
        session.add(account)
    account.bank_code, account.number, account.name = bank_code, number, name
    session.flush()
    return account


# Register facts the entitlement rules read (the registry domain owns these tables).


def household_facts(session: Session, *, household_id: int, day: date) -> HouseholdFacts | None:
    """The household as the rules see it on `day`: living, unmerged members and memberships."""
    household = session.get(Household, household_id)
    if household is None:
        return None
    people = session.scalars(
        select(Person)
        .where(Person.household_id == household_id, Person.merged_into_id.is_(None))
        .order_by(Person.id)
    ).all()
    memberships = session.scalars(
        select(ProgrammeMembership.programme_code).where(
            ProgrammeMembership.household_id == household_id
        )
    ).all()
    return HouseholdFacts(
        household_id=household.id,
        region_code=household.province_code + household.regency_code,
        graduated=household.graduated,
        members=tuple(
            MemberFacts(
                person_id=p.id,
                birth_date=p.birth_date,
                pregnancy_due=p.due_date if p.pregnant else None,
                school_level=p.school_level,
                severe_disability=p.severe_disability,
            )
            for p in people
            if p.deceased_on is None or p.deceased_on > day
        ),
        memberships=frozenset(memberships),
    )


def household_reference(session: Session, household_id: int) -> str:
    reference = session.scalar(select(Household.reference).where(Household.id == household_id))
    return reference or ""


def payout_accounts_at(session: Session, *, bank_code: str) -> Sequence[PayoutAccount]:
    return session.scalars(select(PayoutAccount).where(PayoutAccount.bank_code == bank_code)).all()
