"""web sessions and sign-in attempts in the database (shared by every instance)

Revision ID: 0006_web_sessions
Revises: 0005_lease
Create Date: 2026-12-04 21:33:26.197829
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import core.db

revision = "0006_web_sessions"
down_revision = "0005_lease"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "access_sign_in_attempts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("access_sign_in_attempts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_access_sign_in_attempts_at"), ["at"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_access_sign_in_attempts_source"), ["source"], unique=False
        )

    op.create_table(
        "access_web_sessions",
        sa.Column("id_digest", sa.String(length=64), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("csrf", sa.String(length=64), nullable=False),
        sa.Column("created_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id_digest"),
    )
    with op.batch_alter_table("access_web_sessions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_access_web_sessions_last_seen_at"), ["last_seen_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_access_web_sessions_username"), ["username"], unique=False
        )


def downgrade() -> None:
    op.drop_table("access_web_sessions")
    op.drop_table("access_sign_in_attempts")
