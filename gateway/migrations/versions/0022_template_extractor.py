"""Templates record the extractor that made them; enrolments keep their finger captures.

Iris rows get the one iris encoding the gateway can read (`satupintu-iris/2`: version 1
codes are refused on load). Finger rows keep NULL: their extractor is named inside the
sealed template, which a migration cannot open (it runs without the key ring);
`satupintu templates versions --record` (or `re-extract`) records it from there.

Revision ID: 0022_template_extractor
Revises: 0021_trust
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from gateway.db import UtcDateTime

revision: str = "0022_template_extractor"
down_revision: str | None = "0021_trust"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("biometric_templates") as batch:
        batch.add_column(sa.Column("extractor", sa.String(length=64), nullable=True))
    op.execute(
        "UPDATE biometric_templates SET extractor = 'satupintu-iris/2' WHERE modality = 'iris'"
    )
    op.create_table(
        "biometric_captures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("enrollment_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("modality", sa.String(length=8), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("format", sa.String(length=16), nullable=False),
        sa.Column("resolution_dpi", sa.Integer(), nullable=True),
        sa.Column("envelope", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.ForeignKeyConstraint(
            ["enrollment_id"],
            ["enrollments.id"],
            name=op.f("fk_biometric_captures_enrollment_id_enrollments"),
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["people.id"], name=op.f("fk_biometric_captures_person_id_people")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_biometric_captures")),
        sa.UniqueConstraint(
            "enrollment_id",
            "modality",
            "position",
            name="uq_biometric_captures_enrollment_id_modality_position",
        ),
    )


def downgrade() -> None:
    op.drop_table("biometric_captures")
    with op.batch_alter_table("biometric_templates") as batch:
        batch.drop_column("extractor")
