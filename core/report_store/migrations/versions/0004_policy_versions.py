"""The policy's stored versions (issue 25): text, digest, author, change note, state, times;
and the simulations of a version against the live one.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "policy_versions",
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("version", sa.String(64), nullable=False, unique=True),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("author", sa.String(128), nullable=False),
        sa.Column("note", sa.String(2000), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("based_on", sa.String(64)),
        sa.Column("change_id", sa.String(128)),
        sa.Column("go_live_at", TS),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.Column("live_at", TS),
        sa.Column("retired_at", TS),
    )
    op.create_index(
        "ux_policy_versions_one_live",
        "policy_versions",
        ["state"],
        unique=True,
        sqlite_where=sa.text("state = 'live'"),
        postgresql_where=sa.text("state = 'live'"),
    )

    op.create_table(
        "policy_simulations",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("version", sa.String(64), nullable=False, index=True),
        sa.Column("against", sa.String(64), nullable=False),
        sa.Column("since", TS, nullable=False),
        sa.Column("until", TS, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("cases_done", sa.Integer, nullable=False),
        sa.Column("report", sa.Text),
        sa.Column("requested_by", sa.String(128), nullable=False),
        sa.Column("started_at", TS, nullable=False),
        sa.Column("finished_at", TS),
    )


def downgrade() -> None:
    op.drop_table("policy_simulations")
    op.drop_table("policy_versions")
