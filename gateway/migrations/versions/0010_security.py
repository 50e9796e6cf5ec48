"""Security domain: terminals, capture devices, operators, seen nonces, audit log.

Revision ID: 0010_security
Revises: 0001_root
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010_security"
down_revision: str | None = "0001_root"
branch_labels: str | Sequence[str] | None = ("security",)
depends_on: str | Sequence[str] | None = None

_STATUS = sa.Enum(
    "active", "suspended", "revoked", name="principal_status", native_enum=False, length=16
)
_ROLE = sa.Enum("ops", "case_worker", "auditor", name="operator_role", native_enum=False, length=16)
_BIGINT = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _timestamps() -> list[sa.Column[object]]:
    return [
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "terminals",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("agent_name", sa.String(200), nullable=False),
        sa.Column("bank_code", sa.String(16), nullable=False),
        sa.Column("province_code", sa.String(2), nullable=False),
        sa.Column("regency_code", sa.String(2), nullable=False),
        sa.Column("public_key", sa.LargeBinary(32), nullable=False),
        sa.Column("status", _STATUS, nullable=False),
        sa.Column("status_reason", sa.String(200), nullable=True),
        *_timestamps(),
    )
    op.create_index("ix_terminals_bank_code", "terminals", ["bank_code"])
    op.create_index("ix_terminals_region", "terminals", ["province_code", "regency_code"])
    op.create_table(
        "capture_devices",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("terminal_id", sa.String(64), sa.ForeignKey("terminals.id"), nullable=False),
        sa.Column("model", sa.String(100), nullable=False),
        sa.Column("public_key", sa.LargeBinary(32), nullable=False),
        sa.Column("status", _STATUS, nullable=False),
        *_timestamps(),
    )
    op.create_index("ix_capture_devices_terminal_id", "capture_devices", ["terminal_id"])
    op.create_table(
        "operators",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("role", _ROLE, nullable=False),
        sa.Column("public_key", sa.LargeBinary(32), nullable=False),
        sa.Column("status", _STATUS, nullable=False),
        *_timestamps(),
    )
    op.create_table(
        "seen_nonces",
        sa.Column("keyid", sa.String(80), primary_key=True),
        sa.Column("nonce", sa.String(128), primary_key=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_seen_nonces_expires_at", "seen_nonces", ["expires_at"])
    op.create_table(
        "audit_log",
        sa.Column("seq", _BIGINT, primary_key=True, autoincrement=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("actor", sa.String(128), nullable=False),
        sa.Column("subject", sa.String(128), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("prev_mac", sa.LargeBinary(32), nullable=False),
        sa.Column("mac", sa.LargeBinary(32), nullable=False),
    )
    op.create_index("ix_audit_log_kind", "audit_log", ["kind"])
    op.create_index("ix_audit_log_subject", "audit_log", ["subject"])
    op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("seq", _BIGINT, nullable=False),
        sa.Column("mac", sa.LargeBinary(32), nullable=False),
    )
    # The head exists from the start, so every append is an UPDATE that takes its row lock.
    op.bulk_insert(
        sa.table(
            "audit_head",
            sa.column("id", sa.Integer()),
            sa.column("seq", sa.Integer()),
            sa.column("mac", sa.LargeBinary()),
        ),
        [{"id": 1, "seq": 0, "mac": bytes(32)}],
    )


def downgrade() -> None:
    for table in (
        "audit_head",
        "audit_log",
        "seen_nonces",
        "operators",
        "capture_devices",
        "terminals",
    ):
        op.drop_table(table)
