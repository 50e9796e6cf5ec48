"""Double-entry ledger: every movement debits one account and credits another, immutably."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from gateway.errors import Conflict
from gateway.payouts import repository
from gateway.payouts.models import LedgerTransfer

FUNDING_ACCOUNT = "funding:treasury"


class BudgetExhausted(Conflict):
    code = "budget_exhausted"


class AlreadyResolved(Conflict):
    code = "transfer_already_resolved"


def budget_account(programme: str) -> str:
    return f"budget:{programme}"


def payable_account(household_id: int) -> str:
    return f"payable:household:{household_id}"


def settlement_account(bank_code: str) -> str:
    return f"settlement:{bank_code}"


def agent_float_account(terminal_id: str) -> str:
    return f"float:agent:{terminal_id}"


def ensure_account(*, session: Session, code: str) -> int:
    """Account ids by code; budgets are created guarded, so they can never go negative."""
    kind = code.split(":", 1)[0]
    return repository.insert_account_if_absent(
        session, code=code, kind=kind, guarded=kind == "budget"
    )


def _transfer(
    *,
    session: Session,
    debit: int,
    credit: int,
    amount: int,
    kind: str,
    now: datetime,
    memo: str,
    payout_id: int | None,
    pending_id: int | None = None,
) -> LedgerTransfer:
    return repository.insert_transfer(
        session,
        LedgerTransfer(
            debit_account_id=debit,
            credit_account_id=credit,
            amount=amount,
            kind=kind,
            pending_id=pending_id,
            payout_id=payout_id,
            memo=memo,
            created_at=now,
        ),
    )


def _move(
    *,
    session: Session,
    debit: int,
    credit: int,
    amount: int,
    pending: bool,
    now: datetime,
    memo: str,
    payout_id: int | None,
) -> LedgerTransfer:
    """Debit (refused when a guarded account would go negative), credit, record the transfer."""
    if not repository.add_debit(session, debit, amount, pending=pending):
        raise BudgetExhausted("The programme budget cannot cover this amount.", amount=amount)
    repository.add_credit(session, credit, amount, pending=pending)
    return _transfer(
        session=session,
        debit=debit,
        credit=credit,
        amount=amount,
        kind="pending" if pending else "posted",
        now=now,
        memo=memo,
        payout_id=payout_id,
    )


def post(
    *,
    session: Session,
    debit: int,
    credit: int,
    amount: int,
    now: datetime,
    memo: str,
    payout_id: int | None = None,
) -> LedgerTransfer:
    """Move money at once; refused when it would overdraw a guarded account."""
    return _move(
        session=session,
        debit=debit,
        credit=credit,
        amount=amount,
        pending=False,
        now=now,
        memo=memo,
        payout_id=payout_id,
    )


def reserve(
    *,
    session: Session,
    debit: int,
    credit: int,
    amount: int,
    now: datetime,
    memo: str,
    payout_id: int | None = None,
) -> LedgerTransfer:
    """Phase one: hold the amount as pending, so a budget can't be promised twice."""
    return _move(
        session=session,
        debit=debit,
        credit=credit,
        amount=amount,
        pending=True,
        now=now,
        memo=memo,
        payout_id=payout_id,
    )


def resolve(
    *, session: Session, pending: LedgerTransfer, post_it: bool, now: datetime, memo: str
) -> LedgerTransfer:
    """Phase two: post or void a pending transfer, exactly once (a unique key enforces it)."""
    if repository.resolution_of(session, pending.id) is not None:
        raise AlreadyResolved("This reservation was already posted or voided.")
    repository.move_pending_to_posted(session, pending, post=post_it)
    return _transfer(
        session=session,
        debit=pending.debit_account_id,
        credit=pending.credit_account_id,
        amount=pending.amount,
        kind="post_pending" if post_it else "void_pending",
        now=now,
        memo=memo,
        payout_id=pending.payout_id,
        pending_id=pending.id,
    )


def fund_budget(*, session: Session, programme: str, budget: int, now: datetime) -> int:
    """Bring a programme's funding to its configured budget; returns the amount moved."""
    funding = ensure_account(session=session, code=FUNDING_ACCOUNT)
    account = ensure_account(session=session, code=budget_account(programme))
    difference = budget - repository.funded_total(session, funding=funding, budget=account)
    if difference > 0:
        post(
            session=session,
            debit=funding,
            credit=account,
            amount=difference,
            now=now,
            memo=f"fund {programme}",
        )
    elif difference < 0:
        post(
            session=session,
            debit=account,
            credit=funding,
            amount=-difference,
            now=now,
            memo=f"reduce {programme}",
        )
    return difference


@dataclass(frozen=True)
class AccountBalance:
    code: str
    posted: int
    pending_debits: int
    available: int


def balances(*, session: Session) -> list[AccountBalance]:
    """Credit-normal balances of every account, as an operator reads them."""
    return [
        AccountBalance(
            code=a.code,
            posted=a.credits_posted - a.debits_posted,
            pending_debits=a.debits_pending,
            available=a.credits_posted - a.debits_posted - a.debits_pending,
        )
        for a in repository.all_accounts(session)
    ]


def audit_ledger(*, session: Session) -> list[str]:
    """Problems found when recomputing every total from the transfers; empty means sound."""
    problems: list[str] = []
    totals = repository.transfer_totals(session)
    zero = {"debits_posted": 0, "credits_posted": 0, "debits_pending": 0, "credits_pending": 0}
    grand = 0
    for account in repository.all_accounts(session):
        derived = totals.get(account.id, zero)
        for field, value in derived.items():
            if getattr(account, field) != value:
                problems.append(
                    f"{account.code}: {field} is {getattr(account, field)}, transfers say {value}"
                )
        if (
            account.guarded
            and account.debits_posted + account.debits_pending > account.credits_posted
        ):
            problems.append(f"{account.code}: guarded account is negative")
        grand += account.credits_posted - account.debits_posted
    if grand != 0:
        problems.append(f"posted balances sum to {grand}, not zero")
    return problems
