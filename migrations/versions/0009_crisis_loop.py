"""the crisis loop: help requests counted on alerts, reviewed room risk, support offers, staff notes

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30 17:15:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Additive only: existing alerts read as "no help requests", rooms as "never reviewed" and
    # members as "no support offered yet".
    with op.batch_alter_table("alerts") as batch:
        batch.add_column(
            sa.Column("help_requests", sa.Integer(), nullable=False, server_default="0")
        )
    with op.batch_alter_table("rooms") as batch:
        batch.add_column(sa.Column("risk_reviewed_by", sa.String(40), nullable=True))
        batch.add_column(sa.Column("risk_reviewed_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("memberships") as batch:
        batch.add_column(sa.Column("support_sent_at", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "staff_notes",
        sa.Column("id", sa.String(40), nullable=False),
        sa.Column("room_id", sa.String(40), nullable=False),
        sa.Column("author_id", sa.String(40), nullable=False),
        sa.Column("author_handle", sa.String(64), nullable=False),
        sa.Column("author_role", sa.String(16), nullable=False),
        sa.Column("client_msg_id", sa.String(64), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["room_id"], ["rooms.id"], name="fk_staff_notes_room_id_rooms", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_staff_notes"),
        sa.UniqueConstraint(
            "room_id", "author_id", "client_msg_id", name="uq_staff_notes_room_author_client"
        ),
    )
    op.create_index("ix_staff_notes_room_created", "staff_notes", ["room_id", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_staff_notes_room_created", table_name="staff_notes")
    op.drop_table("staff_notes")
    with op.batch_alter_table("memberships") as batch:
        batch.drop_column("support_sent_at")
    with op.batch_alter_table("rooms") as batch:
        batch.drop_column("risk_reviewed_at")
        batch.drop_column("risk_reviewed_by")
    with op.batch_alter_table("alerts") as batch:
        batch.drop_column("help_requests")
