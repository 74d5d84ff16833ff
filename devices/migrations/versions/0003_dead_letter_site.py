"""dead letters carry the site of the device they came from, so they are listed by site

Revision ID: 0003_dead_letter_site
Revises: 0002_trust
Create Date: 2026-12-04 20:15:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_dead_letter_site"
down_revision = "0002_trust"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("dead_letters", schema=None) as batch_op:
        batch_op.add_column(sa.Column("site_id", sa.String(length=64), nullable=True))
        batch_op.create_index(batch_op.f("ix_dead_letters_site_id"), ["site_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("dead_letters", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_dead_letters_site_id"))
        batch_op.drop_column("site_id")
