"""mqtt_accounts: the embedded broker's logins (devices, the camera system), hashed

Revision ID: 0004_mqtt_accounts
Revises: 0003_dead_letter_site
Create Date: 2026-12-04 20:43:35.726413
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import core.db

revision = "0004_mqtt_accounts"
down_revision = "0003_dead_letter_site"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "mqtt_accounts",
        sa.Column("username", sa.String(length=100), nullable=False),
        sa.Column("password_hash", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("device_id", sa.String(length=64), nullable=True),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("username"),
    )


def downgrade() -> None:
    op.drop_table("mqtt_accounts")
