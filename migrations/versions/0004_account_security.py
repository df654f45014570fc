"""account security: tokens issued before a new password are refused; staff handles no longer
repeat usernames

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30 14:00:00.000000
"""

import secrets
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# A copy of the generator's words (app.core.identity), so that this revision never changes
# when the application does.
_ADJECTIVES = ("calm", "gentle", "bright", "quiet", "steady", "kind", "brave", "warm", "clear")
_NOUNS = ("otter", "heron", "maple", "river", "harbor", "meadow", "sparrow", "willow", "fern")


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("tokens_valid_after", sa.DateTime(timezone=True)))
    # A handle equal to the username told every participant the sign-in name: give those
    # accounts a generated one (what new accounts get).
    bind = op.get_bind()
    users = bind.execute(sa.text("SELECT id FROM users WHERE handle = username")).all()
    for (user_id,) in users:
        handle = (
            f"{secrets.choice(_ADJECTIVES)}-{secrets.choice(_NOUNS)}-{secrets.randbelow(900) + 100}"
        )
        bind.execute(
            sa.text("UPDATE users SET handle = :h WHERE id = :i"), {"h": handle, "i": user_id}
        )


def downgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("tokens_valid_after")
