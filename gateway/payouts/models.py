"""Tables of the money half: ledger accounts and immutable transfers, payouts and their outbox."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from gateway.db import Base, UtcDateTime


class LedgerAccount(Base):
    """Running totals per account; every total is derivable from `ledger_transfers`."""

    __tablename__ = "ledger_accounts"
    __table_args__ = (
        CheckConstraint(
            "NOT guarded OR debits_posted + debits_pending <= credits_posted",
            name="guarded_not_negative",
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(80), unique=True)
    kind: Mapped[str] = mapped_column(String(20))
    # Budgets are guarded: what is spent or reserved never exceeds what was funded.
    guarded: Mapped[bool] = mapped_column(Boolean, default=False)
    debits_posted: Mapped[int] = mapped_column(BigInteger, default=0)
    credits_posted: Mapped[int] = mapped_column(BigInteger, default=0)
    debits_pending: Mapped[int] = mapped_column(BigInteger, default=0)
    credits_pending: Mapped[int] = mapped_column(BigInteger, default=0)


class LedgerTransfer(Base):
    """An immutable movement; a pending transfer is resolved by exactly one post or void."""

    __tablename__ = "ledger_transfers"
    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("debit_account_id <> credit_account_id", name="distinct_accounts"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    debit_account_id: Mapped[int] = mapped_column(ForeignKey("ledger_accounts.id"), index=True)
    credit_account_id: Mapped[int] = mapped_column(ForeignKey("ledger_accounts.id"), index=True)
    amount: Mapped[int] = mapped_column(BigInteger)
    # posted | pending | post_pending | void_pending
    kind: Mapped[str] = mapped_column(String(16))
    pending_id: Mapped[int | None] = mapped_column(
        ForeignKey("ledger_transfers.id"), unique=True, default=None
    )
    payout_id: Mapped[int | None] = mapped_column(
        ForeignKey("payouts.id"), index=True, default=None
    )
    memo: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class Payout(Base):
    """One one-stop payment to a household, driven through its persisted states."""

    __tablename__ = "payouts"
    __table_args__ = (UniqueConstraint("terminal_id", "idempotency_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # The gateway's unique reference, sent to the bank as the end-to-end id.
    reference: Mapped[str] = mapped_column(String(35), unique=True)
    terminal_id: Mapped[str] = mapped_column(String(64))
    idempotency_key: Mapped[str] = mapped_column(String(128))
    request_hash: Mapped[str] = mapped_column(String(64))
    token_id: Mapped[str] = mapped_column(String(64), unique=True)
    household_id: Mapped[int] = mapped_column(Integer, index=True)
    bank_code: Mapped[str] = mapped_column(String(32))
    channel: Mapped[str] = mapped_column(String(20))
    creditor_bank: Mapped[str] = mapped_column(String(16))
    creditor_account: Mapped[str] = mapped_column(String(34))
    creditor_name: Mapped[str] = mapped_column(String(140), default="")
    amount: Mapped[int] = mapped_column(BigInteger)
    # reserved -> submitted -> committed | voided | needs_review; committed -> reversed
    state: Mapped[str] = mapped_column(String(16), index=True)
    failure_code: Mapped[str | None] = mapped_column(String(64), default=None)
    failure_reason: Mapped[str | None] = mapped_column(Text, default=None)
    bank_transaction_id: Mapped[str | None] = mapped_column(String(64), default=None)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
    timeout_at: Mapped[datetime] = mapped_column(UtcDateTime)
    # When the latest submission to the bank began: a "not found" proves nothing until
    # every send that began then has run out its longest possible call.
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)


class PayoutLine(Base):
    __tablename__ = "payout_lines"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    payout_id: Mapped[int] = mapped_column(ForeignKey("payouts.id"), index=True)
    programme: Mapped[str] = mapped_column(String(32))
    component: Mapped[str] = mapped_column(String(32))
    subject: Mapped[str] = mapped_column(String(40))
    period: Mapped[str] = mapped_column(String(16))
    amount: Mapped[int] = mapped_column(BigInteger)
    reason: Mapped[str] = mapped_column(String(300))
    pending_transfer_id: Mapped[int] = mapped_column(ForeignKey("ledger_transfers.id"))


class EntitlementClaim(Base):
    """At most one live payout per entitlement: the unique key is what stops double payment."""

    __tablename__ = "entitlement_claims"
    __table_args__ = (UniqueConstraint("programme", "component", "subject", "period"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    programme: Mapped[str] = mapped_column(String(32))
    component: Mapped[str] = mapped_column(String(32))
    subject: Mapped[str] = mapped_column(String(40), index=True)
    period: Mapped[str] = mapped_column(String(16))
    payout_id: Mapped[int] = mapped_column(ForeignKey("payouts.id"), index=True)


class PayoutTask(Base):
    """Outbox: a payout that still needs the bank, leased so only one worker drives it."""

    __tablename__ = "payout_tasks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    payout_id: Mapped[int] = mapped_column(ForeignKey("payouts.id"), unique=True)
    leased_until: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # Raised by every lease: a bank answer is applied only under the epoch that asked.
    epoch: Mapped[int] = mapped_column(Integer, default=1, server_default="1")


class PayoutLateAnswer(Base):
    """A bank answer that came back to a worker whose lease had passed to another: kept for
    reconciliation and review, never applied."""

    __tablename__ = "payout_late_answers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    payout_id: Mapped[int] = mapped_column(ForeignKey("payouts.id"), index=True)
    epoch: Mapped[int] = mapped_column(Integer)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime)
    # A transfer state (settled, pending, ...) or an adapter error code.
    answer: Mapped[str] = mapped_column(String(40))
    amount: Mapped[int | None] = mapped_column(BigInteger, default=None)
    bank_reference: Mapped[str | None] = mapped_column(String(64), default=None)
    detail: Mapped[str] = mapped_column(Text, default="")


class PayoutResolution(Base):
    """A person's decision on a payout in review: commit or void, with reason and evidence;
    above the second-signature amount it waits for a supervisor's approval."""

    __tablename__ = "payout_resolutions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    payout_id: Mapped[int] = mapped_column(ForeignKey("payouts.id"), index=True)
    # commit | void
    decision: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(Text)
    # The bank's reference (or statement id) the decision rests on.
    evidence: Mapped[str] = mapped_column(String(200))
    proposed_by: Mapped[str] = mapped_column(String(128))
    proposed_at: Mapped[datetime] = mapped_column(UtcDateTime)
    approved_by: Mapped[str | None] = mapped_column(String(128), default=None)
    approved_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    # awaiting (a second signature) | applied
    status: Mapped[str] = mapped_column(String(16))


class PayoutAccount(Base):
    """Where money lands: a household's own account, or the agent's account for cash-out."""

    __tablename__ = "payout_accounts"
    __table_args__ = (UniqueConstraint("owner_kind", "owner_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # household | terminal
    owner_kind: Mapped[str] = mapped_column(String(16))
    owner_id: Mapped[str] = mapped_column(String(64))
    bank_code: Mapped[str] = mapped_column(String(16))
    number: Mapped[str] = mapped_column(String(34))
    name: Mapped[str] = mapped_column(String(140), default="")
