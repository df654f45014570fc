"""canned responses: saved replies staff insert and edit before sending, with four defaults

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30 14:40:00.000000
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The defaults a new service starts with; supervisors change or remove them at will.
DEFAULTS = (
    (
        "canned_default_greeting",
        "Greeting",
        "Hi, I'm glad you reached out. I'm a peer supporter and I'm here to listen. "
        "What's on your mind?",
    ),
    (
        "canned_default_still_here",
        "I'm still here",
        "I'm still here with you. Take all the time you need.",
    ),
    (
        "canned_default_helplines",
        "Helplines",
        "If you ever feel in danger, please call your local emergency number. You can also "
        'reach a helpline any time, day or night: press "Helplines" at the top of this page '
        "to see them.",
    ),
    (
        "canned_default_closing",
        "Closing",
        "Thank you for talking with me today. You're welcome back any time, and if things "
        'feel urgent, press "I need help now". Take care of yourself.',
    ),
)


def upgrade() -> None:
    table = op.create_table(
        "canned_responses",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("title", sa.String(length=80), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.String(length=40), nullable=True),
        sa.Column("updated_by", sa.String(length=40), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_canned_responses")),
    )
    now = datetime.now(UTC)
    op.bulk_insert(
        table,
        [
            {
                "id": id_,
                "title": title,
                "body": body,
                "position": i,
                "created_by": None,
                "updated_by": None,
                "created_at": now,
                "updated_at": now,
            }
            for i, (id_, title, body) in enumerate(DEFAULTS)
        ],
    )


def downgrade() -> None:
    op.drop_table("canned_responses")
