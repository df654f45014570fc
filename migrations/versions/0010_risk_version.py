"""a room's risk version: which of two risk states staff were sent is the newer

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 11:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Additive: every existing room starts at 0 and counts up from its next change.
    with op.batch_alter_table("rooms") as batch:
        batch.add_column(
            sa.Column("risk_version", sa.Integer(), nullable=False, server_default="0")
        )


def downgrade() -> None:
    with op.batch_alter_table("rooms") as batch:
        batch.drop_column("risk_version")
