"""group management: a group can be paused; a member can be muted or removed

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30 15:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Nullable timestamps only: existing rows read as "not paused", "not muted", "not removed".
    with op.batch_alter_table("rooms") as batch:
        batch.add_column(sa.Column("paused_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("memberships") as batch:
        batch.add_column(sa.Column("muted_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("removed_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("memberships") as batch:
        batch.drop_column("removed_at")
        batch.drop_column("muted_at")
    with op.batch_alter_table("rooms") as batch:
        batch.drop_column("paused_at")
