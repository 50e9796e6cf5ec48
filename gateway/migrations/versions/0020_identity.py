"""Identity domains: register, enrollment, index events, verification, lockouts, case workers.

Revision ID: 0020_identity
Revises: 0001_root
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020_identity"
down_revision: str | None = "0001_root"
branch_labels: str | Sequence[str] | None = ("identity",)
# case_workers references the security domain's operators.
depends_on: str | Sequence[str] | None = "0010_security"


def upgrade() -> None:
    op.create_table(
        "households",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("reference", sa.String(length=32), nullable=False),
        sa.Column("family_card_number", sa.String(length=16), nullable=False),
        sa.Column("province_code", sa.String(length=2), nullable=False),
        sa.Column("regency_code", sa.String(length=2), nullable=False),
        sa.Column("district_code", sa.String(length=2), nullable=False),
        sa.Column("graduated", sa.Boolean(), nullable=False),
        sa.Column("graduated_on", sa.Date(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_households")),
        sa.UniqueConstraint("family_card_number", name=op.f("uq_households_family_card_number")),
        sa.UniqueConstraint("reference", name=op.f("uq_households_reference")),
    )
    op.create_index(
        "ix_households_region", "households", ["province_code", "regency_code"], unique=False
    )
    op.create_table(
        "case_workers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("reference", sa.String(length=32), nullable=False),
        sa.Column("operator_id", sa.String(length=64), nullable=False),
        sa.Column("region", sa.String(length=16), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("envelope", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["operator_id"], ["operators.id"], name=op.f("fk_case_workers_operator_id_operators")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_workers")),
        sa.UniqueConstraint("operator_id", name=op.f("uq_case_workers_operator_id")),
        sa.UniqueConstraint("reference", name=op.f("uq_case_workers_reference")),
    )
    op.create_table(
        "people",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("reference", sa.String(length=32), nullable=False),
        sa.Column("household_id", sa.Integer(), nullable=False),
        sa.Column("nik_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("nik_ciphertext", sa.LargeBinary(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("birth_date", sa.Date(), nullable=False),
        sa.Column("sex", sa.String(length=1), nullable=False),
        sa.Column("relation", sa.String(length=16), nullable=False),
        sa.Column("pregnant", sa.Boolean(), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=True),
        sa.Column("school_level", sa.String(length=16), nullable=True),
        sa.Column("severe_disability", sa.Boolean(), nullable=False),
        sa.Column("deceased_on", sa.Date(), nullable=True),
        sa.Column("merged_into_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["household_id"], ["households.id"], name=op.f("fk_people_household_id_households")
        ),
        sa.ForeignKeyConstraint(
            ["merged_into_id"], ["people.id"], name=op.f("fk_people_merged_into_id_people")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_people")),
        sa.UniqueConstraint("nik_hash", name=op.f("uq_people_nik_hash")),
        sa.UniqueConstraint("reference", name=op.f("uq_people_reference")),
    )
    op.create_index(op.f("ix_people_household_id"), "people", ["household_id"], unique=False)
    op.create_table(
        "programme_memberships",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("household_id", sa.Integer(), nullable=False),
        sa.Column("programme_code", sa.String(length=32), nullable=False),
        sa.Column("since", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(
            ["household_id"],
            ["households.id"],
            name=op.f("fk_programme_memberships_household_id_households"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_programme_memberships")),
        sa.UniqueConstraint(
            "household_id", "programme_code", name=op.f("uq_programme_memberships_household_id")
        ),
    )
    op.create_index(
        op.f("ix_programme_memberships_household_id"),
        "programme_memberships",
        ["household_id"],
        unique=False,
    )
    op.create_table(
        "enrollments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("reference", sa.String(length=32), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("terminal_id", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["person_id"], ["people.id"], name=op.f("fk_enrollments_person_id_people")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_enrollments")),
        sa.UniqueConstraint("reference", name=op.f("uq_enrollments_reference")),
    )
    op.create_index(op.f("ix_enrollments_person_id"), "enrollments", ["person_id"], unique=False)
    op.create_table(
        "index_events",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("op", sa.String(length=8), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["person_id"], ["people.id"], name=op.f("fk_index_events_person_id_people")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_index_events")),
    )
    op.create_index(op.f("ix_index_events_person_id"), "index_events", ["person_id"], unique=False)
    op.create_table(
        "lockouts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("reference", sa.String(length=32), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("locked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("unlocked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("unlocked_by", sa.String(length=64), nullable=True),
        sa.Column("unlock_reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["person_id"], ["people.id"], name=op.f("fk_lockouts_person_id_people")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lockouts")),
        sa.UniqueConstraint("reference", name=op.f("uq_lockouts_reference")),
    )
    op.create_index(op.f("ix_lockouts_person_id"), "lockouts", ["person_id"], unique=False)
    op.create_table(
        "verification_tokens",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("household_id", sa.Integer(), nullable=False),
        sa.Column("terminal_id", sa.String(length=64), nullable=False),
        sa.Column("request_digest", sa.String(length=64), nullable=False),
        sa.Column("fallback", sa.Boolean(), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("consumed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["household_id"],
            ["households.id"],
            name=op.f("fk_verification_tokens_household_id_households"),
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["people.id"], name=op.f("fk_verification_tokens_person_id_people")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_verification_tokens")),
    )
    op.create_table(
        "verifications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("reference", sa.String(length=32), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("terminal_id", sa.String(length=64), nullable=False),
        sa.Column("terminal_region", sa.String(length=16), nullable=True),
        sa.Column("mode", sa.String(length=16), nullable=False),
        sa.Column("modality", sa.String(length=16), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("fmr", sa.Float(), nullable=True),
        sa.Column("scope", sa.String(length=16), nullable=True),
        sa.Column("token_id", sa.String(length=32), nullable=True),
        sa.Column("fallback", sa.Boolean(), nullable=False),
        sa.Column("case_worker_id", sa.Integer(), nullable=True),
        sa.Column("fallback_reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["case_worker_id"],
            ["case_workers.id"],
            name=op.f("fk_verifications_case_worker_id_case_workers"),
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["people.id"], name=op.f("fk_verifications_person_id_people")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_verifications")),
        sa.UniqueConstraint("reference", name=op.f("uq_verifications_reference")),
    )
    op.create_index(
        "ix_verifications_person_at", "verifications", ["person_id", "at"], unique=False
    )
    op.create_table(
        "adjudications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("reference", sa.String(length=32), nullable=False),
        sa.Column("enrollment_id", sa.Integer(), nullable=False),
        sa.Column("candidates", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("decision", sa.String(length=16), nullable=True),
        sa.Column("adjudicator", sa.String(length=64), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["enrollment_id"],
            ["enrollments.id"],
            name=op.f("fk_adjudications_enrollment_id_enrollments"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_adjudications")),
        sa.UniqueConstraint("enrollment_id", name=op.f("uq_adjudications_enrollment_id")),
        sa.UniqueConstraint("reference", name=op.f("uq_adjudications_reference")),
    )
    op.create_index(op.f("ix_adjudications_status"), "adjudications", ["status"], unique=False)
    op.create_table(
        "biometric_templates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("reference", sa.String(length=32), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("enrollment_id", sa.Integer(), nullable=False),
        sa.Column("modality", sa.String(length=8), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("quality", sa.Integer(), nullable=False),
        sa.Column("envelope", sa.LargeBinary(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["enrollment_id"],
            ["enrollments.id"],
            name=op.f("fk_biometric_templates_enrollment_id_enrollments"),
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["people.id"], name=op.f("fk_biometric_templates_person_id_people")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_biometric_templates")),
        sa.UniqueConstraint("reference", name=op.f("uq_biometric_templates_reference")),
    )
    op.create_index(
        op.f("ix_biometric_templates_enrollment_id"),
        "biometric_templates",
        ["enrollment_id"],
        unique=False,
    )
    op.create_index(
        "ix_biometric_templates_person_active",
        "biometric_templates",
        ["person_id", "active"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_biometric_templates_person_active", table_name="biometric_templates")
    op.drop_index(op.f("ix_biometric_templates_enrollment_id"), table_name="biometric_templates")
    op.drop_table("biometric_templates")
    op.drop_index(op.f("ix_adjudications_status"), table_name="adjudications")
    op.drop_table("adjudications")
    op.drop_index("ix_verifications_person_at", table_name="verifications")
    op.drop_table("verifications")
    op.drop_table("verification_tokens")
    op.drop_index(op.f("ix_lockouts_person_id"), table_name="lockouts")
    op.drop_table("lockouts")
    op.drop_index(op.f("ix_index_events_person_id"), table_name="index_events")
    op.drop_table("index_events")
    op.drop_index(op.f("ix_enrollments_person_id"), table_name="enrollments")
    op.drop_table("enrollments")
    op.drop_index(op.f("ix_programme_memberships_household_id"), table_name="programme_memberships")
    op.drop_table("programme_memberships")
    op.drop_index(op.f("ix_people_household_id"), table_name="people")
    op.drop_table("people")
    op.drop_table("case_workers")
    op.drop_index("ix_households_region", table_name="households")
    op.drop_table("households")
