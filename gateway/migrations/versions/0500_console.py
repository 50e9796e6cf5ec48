"""Console sign-in: operators' password credentials and browser sessions.

Revision ID: 0500_console
Revises: 0410_payout_exceptions
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from gateway.db import UtcDateTime

revision: str = "0500_console"
down_revision: str | None = "0410_payout_exceptions"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "console_accounts",
        sa.Column(
            "operator_id",
            sa.String(64),
            sa.ForeignKey("operators.id", name="fk_console_accounts_operator_id_operators"),
            primary_key=True,
        ),
        sa.Column("password_hash", sa.String(200), nullable=False),
        sa.Column("language", sa.String(2), nullable=False),
        sa.Column("failed_attempts", sa.Integer, nullable=False),
        sa.Column("locked_until", UtcDateTime),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("updated_at", UtcDateTime, nullable=False),
    )
    op.create_table(
        "console_sessions",
        sa.Column("token_hash", sa.String(64), primary_key=True),
        sa.Column(
            "operator_id",
            sa.String(64),
            sa.ForeignKey("operators.id", name="fk_console_sessions_operator_id_operators"),
            nullable=False,
        ),
        sa.Column("csrf_token", sa.String(64), nullable=False),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("expires_at", UtcDateTime, nullable=False),
    )
    op.create_index("ix_console_sessions_operator_id", "console_sessions", ["operator_id"])
    op.create_index("ix_console_sessions_expires_at", "console_sessions", ["expires_at"])


def downgrade() -> None:
    op.drop_table("console_sessions")
    op.drop_table("console_accounts")
