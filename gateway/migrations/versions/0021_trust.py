"""Trust: biometric updates, case-worker approvals, cash-out approvals, notification outbox,
anomaly alerts; lockout scope; verification evidence and indexes.

Revision ID: 0021_trust
Revises: 0020_identity
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0021_trust"
down_revision: str | None = "0020_identity"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "biometric_updates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("reference", sa.String(length=32), nullable=False),
        sa.Column("enrollment_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("region", sa.String(length=4), nullable=False),
        sa.Column("terminal_id", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("proof_fmr", sa.Float(), nullable=True),
        sa.Column("case_worker_id", sa.String(length=64), nullable=True),
        sa.Column("case_worker_reason", sa.Text(), nullable=True),
        sa.Column("case_worker_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("supervisor_id", sa.String(length=64), nullable=True),
        sa.Column("supervisor_reason", sa.Text(), nullable=True),
        sa.Column("supervisor_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["enrollment_id"],
            ["enrollments.id"],
            name=op.f("fk_biometric_updates_enrollment_id_enrollments"),
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["people.id"], name=op.f("fk_biometric_updates_person_id_people")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_biometric_updates")),
        sa.UniqueConstraint("enrollment_id", name=op.f("uq_biometric_updates_enrollment_id")),
        sa.UniqueConstraint("reference", name=op.f("uq_biometric_updates_reference")),
    )
    op.create_index(
        op.f("ix_biometric_updates_person_id"), "biometric_updates", ["person_id"], unique=False
    )
    op.create_index(
        op.f("ix_biometric_updates_status"), "biometric_updates", ["status"], unique=False
    )
    op.create_index(
        "ix_biometric_updates_terminal_at",
        "biometric_updates",
        ["terminal_id", "created_at"],
        unique=False,
    )
    op.create_table(
        "case_worker_approvals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("reference", sa.String(length=32), nullable=False),
        sa.Column("operator_id", sa.String(length=64), nullable=False),
        sa.Column("region", sa.String(length=4), nullable=False),
        sa.Column("supervisor_id", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["operator_id"],
            ["operators.id"],
            name=op.f("fk_case_worker_approvals_operator_id_operators"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_worker_approvals")),
        sa.UniqueConstraint("reference", name=op.f("uq_case_worker_approvals_reference")),
    )
    op.create_index(
        op.f("ix_case_worker_approvals_operator_id"),
        "case_worker_approvals",
        ["operator_id"],
        unique=False,
    )
    op.create_table(
        "cash_out_approvals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_id", sa.String(length=32), nullable=False),
        sa.Column("supervisor_id", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cash_out_approvals")),
        sa.UniqueConstraint("token_id", name=op.f("uq_cash_out_approvals_token_id")),
    )
    op.create_table(
        "notification_outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("household_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["household_id"],
            ["households.id"],
            name=op.f("fk_notification_outbox_household_id_households"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification_outbox")),
    )
    op.create_index(
        op.f("ix_notification_outbox_household_id"),
        "notification_outbox",
        ["household_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_notification_outbox_sent_at"), "notification_outbox", ["sent_at"], unique=False
    )
    op.create_table(
        "anomaly_alerts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("terminal_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("baseline", sa.Float(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_anomaly_alerts")),
        sa.UniqueConstraint(
            "terminal_id", "kind", "day", name="uq_anomaly_alerts_terminal_kind_day"
        ),
    )
    with op.batch_alter_table("lockouts") as batch:
        batch.add_column(
            sa.Column("scope", sa.String(length=8), server_default="home", nullable=False)
        )
    with op.batch_alter_table("verifications") as batch:
        batch.add_column(sa.Column("fingers", sa.Integer(), server_default="0", nullable=False))
        batch.add_column(sa.Column("irises", sa.Integer(), server_default="0", nullable=False))
        batch.add_column(sa.Column("nik_hash", sa.LargeBinary(length=32), nullable=True))
    op.create_index(
        "ix_verifications_terminal_at", "verifications", ["terminal_id", "at"], unique=False
    )
    op.create_index("ix_verifications_token_id", "verifications", ["token_id"], unique=False)
    op.create_index("ix_verifications_nik_hash", "verifications", ["nik_hash"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_verifications_nik_hash", table_name="verifications")
    op.drop_index("ix_verifications_token_id", table_name="verifications")
    op.drop_index("ix_verifications_terminal_at", table_name="verifications")
    with op.batch_alter_table("verifications") as batch:
        batch.drop_column("nik_hash")
        batch.drop_column("irises")
        batch.drop_column("fingers")
    with op.batch_alter_table("lockouts") as batch:
        batch.drop_column("scope")
    for table in (
        "anomaly_alerts",
        "notification_outbox",
        "cash_out_approvals",
        "case_worker_approvals",
        "biometric_updates",
    ):
        op.drop_table(table)
