"""Root revision every domain branch starts from.

Revision ID: 0001_root
Revises:
"""

from collections.abc import Sequence

revision: str = "0001_root"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Nothing to create: the root only anchors the per-domain branches."""


def downgrade() -> None:
    """Nothing to drop."""
