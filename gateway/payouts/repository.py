"""Every query of the money half; services call these and never build SQL themselves.

The Core statements of a payout's path run on the session's connection: `session.execute`
would take each through the ORM's execution machinery (and an autoflush) for nothing, and
a payout sends a score of them. Callers flush ORM changes these must see themselves.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date, datetime, timedelta
from functools import cache
from typing import cast

from sqlalchemy import Row, Table, bindparam, delete, exists, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from sqlalchemy.sql.dml import Insert

from gateway.db import Base
from gateway.payouts.entitlements import HouseholdFacts, MemberFacts
from gateway.payouts.models import (
    EntitlementClaim,
    LedgerAccount,
    LedgerTransfer,
    Payout,
    PayoutAccount,
    PayoutLateAnswer,
    PayoutLine,
    PayoutResolution,
    PayoutTask,
)
from gateway.registry.models import Household, Person, ProgrammeMembership


def _table(model: type[Base]) -> Table:
    return cast(Table, model.__table__)


def _insert_ignoring_conflicts(session: Session, model: type[Base]) -> Insert:
    """INSERT ... ON CONFLICT DO NOTHING: a lost race is an answer, not an aborted transaction."""
    return _ignoring_conflicts(session.get_bind().dialect.name, model)


@cache
def _ignoring_conflicts(dialect: str, model: type[Base]) -> Insert:
    # Built once per dialect and table: composing a statement costs more than running it.
    table = _table(model)
    if dialect == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing().returning(table.c.id)
    return sqlite.insert(table).on_conflict_do_nothing().returning(table.c.id)


def account_ids(session: Session, codes: Iterable[str]) -> dict[str, int]:
    rows = (
        session.connection()
        .execute(
            select(LedgerAccount.code, LedgerAccount.id).where(LedgerAccount.code.in_(list(codes)))
        )
        .all()
    )
    return {code: account for code, account in rows}


@cache
def _insert_accounts(dialect: str) -> Insert:
    table = _table(LedgerAccount)
    dml = postgresql.insert(table) if dialect == "postgresql" else sqlite.insert(table)
    return dml.on_conflict_do_nothing().returning(table.c.code, table.c.id)


def insert_accounts_if_absent(
    session: Session, accounts: Sequence[tuple[str, str, bool]]
) -> dict[str, int]:
    """Create (code, kind, guarded) accounts, except those a concurrent transaction created;
    the ids of the accounts created."""
    rows = session.connection().execute(
        _insert_accounts(session.get_bind().dialect.name),
        [
            {
                "code": code,
                "kind": kind,
                "guarded": guarded,
                "debits_posted": 0,
                "credits_posted": 0,
                "debits_pending": 0,
                "credits_pending": 0,
            }
            for code, kind, guarded in accounts
        ],
    )
    return {cast(str, row[0]): cast(int, row[1]) for row in rows}


_ACCOUNTS = _table(LedgerAccount)
# Built once: composing a statement costs more Python than executing a cached one.
_APPLY_DELTAS = (
    update(_ACCOUNTS)
    .where(_ACCOUNTS.c.id == bindparam("account"))
    .values(
        debits_posted=_ACCOUNTS.c.debits_posted + bindparam("dp"),
        credits_posted=_ACCOUNTS.c.credits_posted + bindparam("cp"),
        debits_pending=_ACCOUNTS.c.debits_pending + bindparam("dpe"),
        credits_pending=_ACCOUNTS.c.credits_pending + bindparam("cpe"),
    )
)


def apply_account_deltas(session: Session, deltas: Mapping[int, Sequence[int]]) -> None:
    """Add (debits_posted, credits_posted, debits_pending, credits_pending) changes per account,
    in id order; a guarded account's CHECK constraint refuses an overdraft (IntegrityError)."""
    session.connection().execute(
        _APPLY_DELTAS,
        [
            {"account": account, "dp": dp, "cp": cp, "dpe": dpe, "cpe": cpe}
            for account, (dp, cp, dpe, cpe) in sorted(deltas.items())
        ],
    )


_TRANSFERS = _table(LedgerTransfer)
_INSERT_TRANSFERS = insert(_TRANSFERS).returning(_TRANSFERS.c.id, sort_by_parameter_order=True)


def insert_transfers(session: Session, rows: Sequence[Mapping[str, object]]) -> list[int]:
    """Insert transfers in one statement; their ids in the order given."""
    return list(session.connection().execute(_INSERT_TRANSFERS, list(rows)).scalars())


_RESOLUTION = _TRANSFERS.alias("resolution")
_UNRESOLVED_PENDING = (
    select(
        _TRANSFERS.c.id,
        _TRANSFERS.c.debit_account_id,
        _TRANSFERS.c.credit_account_id,
        _TRANSFERS.c.amount,
    )
    .where(_TRANSFERS.c.payout_id == bindparam("payout_id"), _TRANSFERS.c.kind == "pending")
    .where(~exists().where(_RESOLUTION.c.pending_id == _TRANSFERS.c.id))
    .order_by(_TRANSFERS.c.id)
)


def unresolved_pending(session: Session, payout_id: int) -> Sequence[Row[int, int, int, int]]:
    """A payout's reservations not yet posted or voided (id, accounts, amount), in one query."""
    return session.connection().execute(_UNRESOLVED_PENDING, {"payout_id": payout_id}).all()


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


def used_by_budget(session: Session, *, funding: int, budget: int) -> int:
    """What a budget has spent or holds in reservations, net of money returned to it: what
    was funded less what is still available."""
    account = session.get(LedgerAccount, budget, populate_existing=True)
    if account is None:
        return 0
    available = account.credits_posted - account.debits_posted - account.debits_pending
    return funded_total(session, funding=funding, budget=budget) - available


# Payouts


_PAYOUT_BY_KEY = select(Payout).where(
    Payout.terminal_id == bindparam("terminal_id"),
    Payout.idempotency_key == bindparam("idempotency_key"),
)
_PAYOUT_BY_ID = (
    select(Payout)
    .where(Payout.id == bindparam("payout_id"))
    .execution_options(populate_existing=True)
)
_PAYOUT_BY_ID_FOR_UPDATE = _PAYOUT_BY_ID.with_for_update()
_MARK_SUBMITTED = (
    update(Payout)
    .where(Payout.id == bindparam("payout_id"), Payout.state == "reserved")
    .values(state="submitted", updated_at=bindparam("now"), sent_at=bindparam("now"))
    .returning(Payout)
    .execution_options(populate_existing=True, synchronize_session=False)
)


def payout_by_key(session: Session, *, terminal_id: str, idempotency_key: str) -> Payout | None:
    return session.scalar(
        _PAYOUT_BY_KEY, {"terminal_id": terminal_id, "idempotency_key": idempotency_key}
    )


def payout_by_id(session: Session, payout_id: int, *, for_update: bool = False) -> Payout | None:
    statement = _PAYOUT_BY_ID_FOR_UPDATE if for_update else _PAYOUT_BY_ID
    return session.scalar(statement, {"payout_id": payout_id})


def mark_submitted(session: Session, payout_id: int, *, now: datetime) -> Payout | None:
    """Move a `reserved` payout to `submitted` in one statement; None when it was not reserved."""
    return session.scalar(_MARK_SUBMITTED, {"payout_id": payout_id, "now": now})


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


def payouts_in_review(session: Session, *, bank_code: str | None = None) -> Sequence[Payout]:
    query = select(Payout).where(Payout.state == "needs_review")
    if bank_code is not None:
        query = query.where(Payout.bank_code == bank_code)
    return session.scalars(query.order_by(Payout.id)).all()


def payouts_in_states(session: Session, states: Sequence[str]) -> Sequence[Payout]:
    return session.scalars(select(Payout).where(Payout.state.in_(states)).order_by(Payout.id)).all()


_LINES = _table(PayoutLine)
_LINE_COLUMNS = [c.key for c in _LINES.columns if c.key != "id"]
_INSERT_LINES = insert(_LINES)


def add_lines(session: Session, lines: Sequence[PayoutLine]) -> None:
    """Insert lines in one statement; the objects stay transient (the receipt reads them)."""
    session.connection().execute(
        _INSERT_LINES, [{key: getattr(line, key) for key in _LINE_COLUMNS} for line in lines]
    )


def lines_of(session: Session, payout_id: int) -> Sequence[PayoutLine]:
    return session.scalars(
        select(PayoutLine).where(PayoutLine.payout_id == payout_id).order_by(PayoutLine.id)
    ).all()


_CLAIMS_FOR_SUBJECTS = select(
    EntitlementClaim.programme,
    EntitlementClaim.component,
    EntitlementClaim.subject,
    EntitlementClaim.period,
).where(EntitlementClaim.subject.in_(bindparam("subjects", expanding=True)))


def claims_for_subjects(
    session: Session, subjects: Sequence[str]
) -> Sequence[tuple[str, str, str, str]]:
    rows = session.connection().execute(_CLAIMS_FOR_SUBJECTS, {"subjects": list(subjects)}).all()
    return [tuple(row) for row in rows]  # type: ignore[misc]


def insert_claims(session: Session, lines: Sequence[PayoutLine]) -> bool:
    """Claim the lines' entitlements; False when any is already claimed by a live payout."""
    claims = [
        {
            "programme": line.programme,
            "component": line.component,
            "subject": line.subject,
            "period": line.period,
            "payout_id": line.payout_id,
        }
        for line in lines
    ]
    statement = _insert_ignoring_conflicts(session, EntitlementClaim)
    inserted = session.connection().execute(statement, claims).all()
    return len(inserted) == len(claims)


_RELEASE_CLAIMS = delete(EntitlementClaim).where(
    EntitlementClaim.payout_id == bindparam("payout_id")
)


def release_claims(session: Session, payout_id: int) -> None:
    session.connection().execute(_RELEASE_CLAIMS, {"payout_id": payout_id})


def insert_payout(session: Session, values: Mapping[str, object]) -> int | None:
    """Insert a payout and return its id; None when the (terminal, key) or token is taken."""
    statement = _insert_ignoring_conflicts(session, Payout)
    return cast(int | None, session.connection().execute(statement, dict(values)).scalar())


_INSERT_TASK = insert(_table(PayoutTask))
_DELETE_TASK = delete(_table(PayoutTask)).where(
    _table(PayoutTask).c.payout_id == bindparam("payout_id")
)


FIRST_EPOCH = 1


def add_task(session: Session, *, payout_id: int, leased_until: datetime) -> None:
    session.connection().execute(
        _INSERT_TASK,
        {
            "payout_id": payout_id,
            "leased_until": leased_until,
            "attempts": 0,
            "epoch": FIRST_EPOCH,
        },
    )


def upsert_task(
    session: Session, *, payout_id: int, now: datetime, delay: Callable[[int], timedelta]
) -> None:
    """Schedule the payout's next step after `delay(attempts so far)`."""
    task = session.scalar(select(PayoutTask).where(PayoutTask.payout_id == payout_id))
    if task is None:
        session.add(
            PayoutTask(
                payout_id=payout_id, leased_until=now + delay(0), attempts=0, epoch=FIRST_EPOCH
            )
        )
    else:
        task.leased_until = now + delay(task.attempts)
    session.flush()


_PAYOUT_AND_EPOCH_FOR_UPDATE = (
    select(Payout, PayoutTask.epoch)
    .join(PayoutTask, PayoutTask.payout_id == Payout.id)
    .where(Payout.id == bindparam("payout_id"))
    .with_for_update()
    .execution_options(populate_existing=True)
)


def payout_and_epoch(session: Session, payout_id: int) -> tuple[Payout | None, int | None]:
    """The payout and its task's lease epoch, both rows locked to the commit, in one query
    when it has a task (as a payout the bank is answering for does); epoch None without."""
    row = session.execute(_PAYOUT_AND_EPOCH_FOR_UPDATE, {"payout_id": payout_id}).first()
    if row is not None:
        return row[0], row[1]
    return payout_by_id(session, payout_id, for_update=True), None


def task_epoch(session: Session, payout_id: int) -> int | None:
    """The task's lease epoch, its row locked to the commit; None when it has no task."""
    return session.scalar(
        select(PayoutTask.epoch).where(PayoutTask.payout_id == payout_id).with_for_update()
    )


def delete_task(session: Session, payout_id: int) -> None:
    session.connection().execute(_DELETE_TASK, {"payout_id": payout_id})


def lease_task(session: Session, *, payout_id: int, now: datetime, until: datetime) -> int | None:
    """Take the task's lease when it has expired (the conditional UPDATE makes it exclusive);
    the new lease's epoch, or None when another worker holds it."""
    return session.scalar(
        update(PayoutTask)
        .where(PayoutTask.payout_id == payout_id, PayoutTask.leased_until <= now)
        .values(leased_until=until, attempts=PayoutTask.attempts + 1, epoch=PayoutTask.epoch + 1)
        .returning(PayoutTask.epoch)
        .execution_options(synchronize_session=False)
    )


def add_late_answer(session: Session, answer: PayoutLateAnswer) -> None:
    session.add(answer)
    session.flush()


def late_answers_of(session: Session, payout_id: int) -> Sequence[PayoutLateAnswer]:
    return session.scalars(
        select(PayoutLateAnswer)
        .where(PayoutLateAnswer.payout_id == payout_id)
        .order_by(PayoutLateAnswer.id)
    ).all()


def add_resolution(session: Session, resolution: PayoutResolution) -> None:
    session.add(resolution)
    session.flush()


def open_resolution(session: Session, payout_id: int) -> PayoutResolution | None:
    """The decision on this payout still waiting for a second signature, row locked."""
    return session.scalar(
        select(PayoutResolution)
        .where(
            PayoutResolution.payout_id == payout_id,
            PayoutResolution.status == "awaiting",
        )
        .with_for_update()
    )


def resolutions_of(session: Session, payout_id: int) -> Sequence[PayoutResolution]:
    return session.scalars(
        select(PayoutResolution)
        .where(PayoutResolution.payout_id == payout_id)
        .order_by(PayoutResolution.id)
    ).all()


def review_totals(session: Session) -> Sequence[Row[str, str | None, int, int]]:
    """Payouts in review and the money they hold, by bank and reason."""
    return session.execute(
        select(Payout.bank_code, Payout.failure_code, func.count(), func.sum(Payout.amount))
        .where(Payout.state == "needs_review")
        .group_by(Payout.bank_code, Payout.failure_code)
        .order_by(Payout.bank_code, Payout.failure_code)
    ).all()


def count_by_failure(session: Session, failure_code: str) -> Sequence[Row[str, int]]:
    """Payouts carrying `failure_code`, by bank."""
    return session.execute(
        select(Payout.bank_code, func.count())
        .where(Payout.failure_code == failure_code)
        .group_by(Payout.bank_code)
    ).all()


def lock_budget(session: Session, *, programme: str) -> None:
    """Serialise funding of one programme's budget across processes until the commit.

    PostgreSQL: a transaction-scoped advisory lock keyed by the programme. SQLite: every
    writing transaction already holds the database's single write lock from its BEGIN.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            select(func.pg_advisory_xact_lock(func.hashtextextended(f"budget:{programme}", 0)))
        )


def due_task_payout_ids(session: Session, *, now: datetime, limit: int) -> Sequence[int]:
    return session.scalars(
        select(PayoutTask.payout_id)
        .where(PayoutTask.leased_until <= now)
        .order_by(PayoutTask.leased_until, PayoutTask.payout_id)
        .limit(limit)
    ).all()


_PAYOUT_ACCOUNT = select(PayoutAccount).where(
    PayoutAccount.owner_kind == bindparam("owner_kind"),
    PayoutAccount.owner_id == bindparam("owner_id"),
)


def payout_account(session: Session, *, owner_kind: str, owner_id: str) -> PayoutAccount | None:
    return session.scalar(_PAYOUT_ACCOUNT, {"owner_kind": owner_kind, "owner_id": owner_id})


_PAYOUT_DESTINATION = select(
    PayoutAccount.bank_code, PayoutAccount.number, PayoutAccount.name
).where(
    PayoutAccount.owner_kind == bindparam("owner_kind"),
    PayoutAccount.owner_id == bindparam("owner_id"),
)


def payout_destination(
    session: Session, *, owner_kind: str, owner_id: str
) -> Row[str, str, str] | None:
    """(bank_code, number, name) of an owner's payout account: what every payout reads,
    as plain columns rather than an ORM object."""
    return (
        session.connection()
        .execute(_PAYOUT_DESTINATION, {"owner_kind": owner_kind, "owner_id": owner_id})
        .first()
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


# Membership codes are checked at import (`registry.rows`: letters, digits, `_`, `-`): never this.
_CODE_SEPARATOR = "\x1f"
_MEMBERSHIP_CODES = (
    select(func.aggregate_strings(ProgrammeMembership.programme_code, _CODE_SEPARATOR))
    .where(ProgrammeMembership.household_id == Household.id)
    .scalar_subquery()
)
_HOUSEHOLD_MEMBERS = (
    select(
        Household.province_code,
        Household.regency_code,
        Household.graduated,
        _MEMBERSHIP_CODES.label("memberships"),
        Person.id,
        Person.birth_date,
        Person.pregnant,
        Person.due_date,
        Person.school_level,
        Person.severe_disability,
        Person.deceased_on,
    )
    .select_from(Household)
    .outerjoin(Person, (Person.household_id == Household.id) & Person.merged_into_id.is_(None))
    .where(Household.id == bindparam("household_id"))
    .order_by(Person.id)
)


def household_facts(session: Session, *, household_id: int, day: date) -> HouseholdFacts | None:
    """The household as the rules see it on `day`: living, unmerged members and memberships.

    One plain-column read (household with its people, its memberships aggregated on each
    row): the rules need a few facts, not ORM objects, and a payout needs them every time.
    """
    rows = session.connection().execute(_HOUSEHOLD_MEMBERS, {"household_id": household_id}).all()
    if not rows:
        return None
    province_code, regency_code, graduated, codes = rows[0][:4]
    memberships = codes.split(_CODE_SEPARATOR) if codes else []
    return HouseholdFacts(
        household_id=household_id,
        region_code=province_code + regency_code,
        graduated=graduated,
        members=tuple(
            MemberFacts(
                person_id=row.id,
                birth_date=row.birth_date,
                pregnancy_due=row.due_date if row.pregnant else None,
                school_level=row.school_level,
                severe_disability=row.severe_disability,
            )
            for row in rows
            if row.id is not None and (row.deceased_on is None or row.deceased_on > day)
        ),
        memberships=frozenset(memberships),
    )


def household_reference(session: Session, household_id: int) -> str:
    reference = session.scalar(select(Household.reference).where(Household.id == household_id))
    return reference or ""


def payout_accounts_at(session: Session, *, bank_code: str) -> Sequence[PayoutAccount]:
    return session.scalars(select(PayoutAccount).where(PayoutAccount.bank_code == bank_code)).all()
