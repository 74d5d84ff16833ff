"""sign-in trust: OIDC subject links, per-source sign-in locks, session generation; a night
check closed outside its window keeps "early"/"late" and the reason

Revision ID: 0002_trust
Revises: 0001
Create Date: 2026-12-04 20:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import core.db

revision = "0002_trust"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # create_all at start may have made the new tables already (it adds missing tables)
    existing = set(sa.inspect(op.get_bind()).get_table_names())
    if "access_oidc_links" not in existing:
        op.create_table(
            "access_oidc_links",
            sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
            sa.Column("user_id", sa.Integer(), nullable=False),
            sa.Column("issuer", sa.String(length=500), nullable=False),
            sa.Column("subject_digest", sa.String(length=64), nullable=False),
            sa.Column("created_at", core.db.UTCDateTime(timezone=True), nullable=False),
            sa.ForeignKeyConstraint(["user_id"], ["access_users.id"]),
            sa.PrimaryKeyConstraint("id"),
            sa.UniqueConstraint("issuer", "subject_digest"),
            sa.UniqueConstraint("user_id"),
        )
    if "access_sign_in_locks" not in existing:
        op.create_table(
            "access_sign_in_locks",
            sa.Column("username", sa.String(length=64), nullable=False),
            sa.Column("source", sa.String(length=64), nullable=False),
            sa.Column("failures", sa.Integer(), nullable=False),
            sa.Column("locked_until", core.db.UTCDateTime(timezone=True), nullable=True),
            sa.Column("last_failure_at", core.db.UTCDateTime(timezone=True), nullable=False),
            sa.PrimaryKeyConstraint("username", "source"),
        )
    columns = {c["name"] for c in sa.inspect(op.get_bind()).get_columns("access_users")}
    if "session_generation" not in columns:
        with op.batch_alter_table("access_users", schema=None) as batch_op:
            batch_op.add_column(
                sa.Column("session_generation", sa.Integer(), server_default="0", nullable=False)
            )
    for table in ("sv_checks", "sv_check_transitions"):
        have = {c["name"] for c in sa.inspect(op.get_bind()).get_columns(table)}
        if "timing" in have:
            continue
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("timing", sa.String(length=8), nullable=True))
            batch_op.add_column(sa.Column("timing_reason", sa.Text(), nullable=True))


def downgrade() -> None:
    for table in ("sv_check_transitions", "sv_checks"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("timing_reason")
            batch_op.drop_column("timing")
    with op.batch_alter_table("access_users", schema=None) as batch_op:
        batch_op.drop_column("session_generation")
    op.drop_table("access_sign_in_locks")
    op.drop_table("access_oidc_links")
