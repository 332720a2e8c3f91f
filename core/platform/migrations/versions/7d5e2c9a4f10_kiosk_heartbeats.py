"""kiosk heartbeats: the last report of each kiosk terminal

Revision ID: 7d5e2c9a4f10
Revises: 3c1f0a7d2b45
Create Date: 2026-11-23 17:45:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import core.platform.db

revision = '7d5e2c9a4f10'
down_revision = '3c1f0a7d2b45'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'kiosk_heartbeats',
        sa.Column('kiosk_id', sa.String(length=64), nullable=False),
        sa.Column('token_name', sa.String(length=100), nullable=False),
        sa.Column('version', sa.String(length=40), nullable=False),
        sa.Column('printer', sa.String(length=200), nullable=False),
        sa.Column('last_inquiry_at', core.platform.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column('last_seen_at', core.platform.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('kiosk_id', name=op.f('pk_kiosk_heartbeats')),
    )


def downgrade() -> None:
    op.drop_table('kiosk_heartbeats')
