"""Payout exceptions: lease epochs, send times, late answers and operator resolutions.

Revision ID: 0410_payout_exceptions
Revises: 0400_payouts
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from gateway.db import UtcDateTime

revision: str = "0410_payout_exceptions"
down_revision: str | None = "0400_payouts"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("payout_tasks") as batch:
        batch.add_column(sa.Column("epoch", sa.Integer, nullable=False, server_default="1"))
    with op.batch_alter_table("payouts") as batch:
        batch.add_column(sa.Column("sent_at", UtcDateTime))
    op.create_table(
        "payout_late_answers",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "payout_id",
            sa.Integer,
            sa.ForeignKey("payouts.id", name="fk_payout_late_answers_payout_id_payouts"),
            nullable=False,
        ),
        sa.Column("epoch", sa.Integer, nullable=False),
        sa.Column("received_at", UtcDateTime, nullable=False),
        sa.Column("answer", sa.String(40), nullable=False),
        sa.Column("amount", sa.BigInteger),
        sa.Column("bank_reference", sa.String(64)),
        sa.Column("detail", sa.Text, nullable=False),
    )
    op.create_index("ix_payout_late_answers_payout_id", "payout_late_answers", ["payout_id"])
    op.create_table(
        "payout_resolutions",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "payout_id",
            sa.Integer,
            sa.ForeignKey("payouts.id", name="fk_payout_resolutions_payout_id_payouts"),
            nullable=False,
        ),
        sa.Column("decision", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("evidence", sa.String(200), nullable=False),
        sa.Column("proposed_by", sa.String(128), nullable=False),
        sa.Column("proposed_at", UtcDateTime, nullable=False),
        sa.Column("approved_by", sa.String(128)),
        sa.Column("approved_at", UtcDateTime),
        sa.Column("status", sa.String(16), nullable=False),
    )
    op.create_index("ix_payout_resolutions_payout_id", "payout_resolutions", ["payout_id"])


def downgrade() -> None:
    op.drop_table("payout_resolutions")
    op.drop_table("payout_late_answers")
    with op.batch_alter_table("payouts") as batch:
        batch.drop_column("sent_at")
    with op.batch_alter_table("payout_tasks") as batch:
        batch.drop_column("epoch")
