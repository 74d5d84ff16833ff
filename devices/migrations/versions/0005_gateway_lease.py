"""gateway lease: which instance of a gateway group is the active one (fencing token, expiry)

Revision ID: 0005_lease
Revises: 0004_mqtt_accounts
Create Date: 2026-12-04 20:35:41.948578
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import core.db

revision = "0005_lease"
down_revision = "0004_mqtt_accounts"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "gateway_lease",
        sa.Column("group_name", sa.String(length=64), nullable=False),
        sa.Column("holder", sa.String(length=200), nullable=True),
        sa.Column("token", sa.BigInteger(), nullable=False),
        sa.Column("expires_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("renewed_at", core.db.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("group_name"),
    )


def downgrade() -> None:
    op.drop_table("gateway_lease")
