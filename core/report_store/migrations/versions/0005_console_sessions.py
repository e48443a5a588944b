"""The console's sessions (issue 31, point 5): a row per signed-in browser, so signing out
ends the session on every API process and across restarts
(docs/decisions/0053-revocable-console-sessions.md).

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "console_sessions",
        sa.Column("sid_hash", sa.String(64), primary_key=True),
        sa.Column("person_id", sa.String(128), nullable=False, index=True),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("expires_at", sa.Float, nullable=False, index=True),
        sa.Column("ended_at", sa.Float),
    )


def downgrade() -> None:
    op.drop_table("console_sessions")
