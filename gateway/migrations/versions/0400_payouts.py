"""Payouts: ledger accounts and transfers, payouts, lines, claims, outbox, payout accounts.

Revision ID: 0400_payouts
Revises: 0001_root
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from gateway.db import UtcDateTime

revision: str = "0400_payouts"
down_revision: str | None = "0001_root"
branch_labels: str | Sequence[str] | None = ("payouts",)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "ledger_accounts",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("code", sa.String(80), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("guarded", sa.Boolean, nullable=False),
        sa.Column("debits_posted", sa.BigInteger, nullable=False),
        sa.Column("credits_posted", sa.BigInteger, nullable=False),
        sa.Column("debits_pending", sa.BigInteger, nullable=False),
        sa.Column("credits_pending", sa.BigInteger, nullable=False),
        sa.CheckConstraint(
            "NOT guarded OR debits_posted + debits_pending <= credits_posted",
            name="ck_ledger_accounts_guarded_not_negative",
        ),
        sa.UniqueConstraint("code", name="uq_ledger_accounts_code"),
    )
    op.create_table(
        "payouts",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("reference", sa.String(35), nullable=False),
        sa.Column("terminal_id", sa.String(64), nullable=False),
        sa.Column("idempotency_key", sa.String(128), nullable=False),
        sa.Column("request_hash", sa.String(64), nullable=False),
        sa.Column("token_id", sa.String(64), nullable=False),
        sa.Column("household_id", sa.Integer, nullable=False),
        sa.Column("bank_code", sa.String(32), nullable=False),
        sa.Column("channel", sa.String(20), nullable=False),
        sa.Column("creditor_bank", sa.String(16), nullable=False),
        sa.Column("creditor_account", sa.String(34), nullable=False),
        sa.Column("creditor_name", sa.String(140), nullable=False),
        sa.Column("amount", sa.BigInteger, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("failure_code", sa.String(64)),
        sa.Column("failure_reason", sa.Text),
        sa.Column("bank_transaction_id", sa.String(64)),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("updated_at", UtcDateTime, nullable=False),
        sa.Column("timeout_at", UtcDateTime, nullable=False),
        sa.UniqueConstraint("reference", name="uq_payouts_reference"),
        sa.UniqueConstraint("token_id", name="uq_payouts_token_id"),
        sa.UniqueConstraint("terminal_id", "idempotency_key", name="uq_payouts_terminal_id"),
    )
    op.create_index("ix_payouts_household_id", "payouts", ["household_id"])
    op.create_index("ix_payouts_state", "payouts", ["state"])
    op.create_table(
        "ledger_transfers",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "debit_account_id",
            sa.Integer,
            sa.ForeignKey(
                "ledger_accounts.id", name="fk_ledger_transfers_debit_account_id_ledger_accounts"
            ),
            nullable=False,
        ),
        sa.Column(
            "credit_account_id",
            sa.Integer,
            sa.ForeignKey(
                "ledger_accounts.id", name="fk_ledger_transfers_credit_account_id_ledger_accounts"
            ),
            nullable=False,
        ),
        sa.Column("amount", sa.BigInteger, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column(
            "pending_id",
            sa.Integer,
            sa.ForeignKey(
                "ledger_transfers.id", name="fk_ledger_transfers_pending_id_ledger_transfers"
            ),
        ),
        sa.Column(
            "payout_id",
            sa.Integer,
            sa.ForeignKey("payouts.id", name="fk_ledger_transfers_payout_id_payouts"),
        ),
        sa.Column("memo", sa.String(200), nullable=False),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.CheckConstraint("amount > 0", name="ck_ledger_transfers_amount_positive"),
        sa.CheckConstraint(
            "debit_account_id <> credit_account_id", name="ck_ledger_transfers_distinct_accounts"
        ),
        sa.UniqueConstraint("pending_id", name="uq_ledger_transfers_pending_id"),
    )
    op.create_index(
        "ix_ledger_transfers_debit_account_id", "ledger_transfers", ["debit_account_id"]
    )
    op.create_index(
        "ix_ledger_transfers_credit_account_id", "ledger_transfers", ["credit_account_id"]
    )
    op.create_index("ix_ledger_transfers_payout_id", "ledger_transfers", ["payout_id"])
    op.create_table(
        "payout_lines",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "payout_id",
            sa.Integer,
            sa.ForeignKey("payouts.id", name="fk_payout_lines_payout_id_payouts"),
            nullable=False,
        ),
        sa.Column("programme", sa.String(32), nullable=False),
        sa.Column("component", sa.String(32), nullable=False),
        sa.Column("subject", sa.String(40), nullable=False),
        sa.Column("period", sa.String(16), nullable=False),
        sa.Column("amount", sa.BigInteger, nullable=False),
        sa.Column("reason", sa.String(300), nullable=False),
        sa.Column(
            "pending_transfer_id",
            sa.Integer,
            sa.ForeignKey(
                "ledger_transfers.id", name="fk_payout_lines_pending_transfer_id_ledger_transfers"
            ),
            nullable=False,
        ),
    )
    op.create_index("ix_payout_lines_payout_id", "payout_lines", ["payout_id"])
    op.create_table(
        "entitlement_claims",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("programme", sa.String(32), nullable=False),
        sa.Column("component", sa.String(32), nullable=False),
        sa.Column("subject", sa.String(40), nullable=False),
        sa.Column("period", sa.String(16), nullable=False),
        sa.Column(
            "payout_id",
            sa.Integer,
            sa.ForeignKey("payouts.id", name="fk_entitlement_claims_payout_id_payouts"),
            nullable=False,
        ),
        sa.UniqueConstraint(
            "programme", "component", "subject", "period", name="uq_entitlement_claims_programme"
        ),
    )
    op.create_index("ix_entitlement_claims_subject", "entitlement_claims", ["subject"])
    op.create_index("ix_entitlement_claims_payout_id", "entitlement_claims", ["payout_id"])
    op.create_table(
        "payout_tasks",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "payout_id",
            sa.Integer,
            sa.ForeignKey("payouts.id", name="fk_payout_tasks_payout_id_payouts"),
            nullable=False,
        ),
        sa.Column("leased_until", UtcDateTime, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.UniqueConstraint("payout_id", name="uq_payout_tasks_payout_id"),
    )
    op.create_index("ix_payout_tasks_leased_until", "payout_tasks", ["leased_until"])
    op.create_table(
        "payout_accounts",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("owner_kind", sa.String(16), nullable=False),
        sa.Column("owner_id", sa.String(64), nullable=False),
        sa.Column("bank_code", sa.String(16), nullable=False),
        sa.Column("number", sa.String(34), nullable=False),
        sa.Column("name", sa.String(140), nullable=False),
        sa.UniqueConstraint("owner_kind", "owner_id", name="uq_payout_accounts_owner_kind"),
    )


def downgrade() -> None:
    for table in (
        "payout_accounts",
        "payout_tasks",
        "entitlement_claims",
        "payout_lines",
        "ledger_transfers",
        "payouts",
        "ledger_accounts",
    ):
        op.drop_table(table)
