"""leases: one holder at a time for a named piece of work

Revision ID: 3c1f0a7d2b45
Revises: e10bc4f04a05
Create Date: 2026-11-23 17:25:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import core.platform.db

revision = '3c1f0a7d2b45'
down_revision = 'e10bc4f04a05'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'leases',
        sa.Column('name', sa.String(length=64), nullable=False),
        sa.Column('holder', sa.String(length=200), nullable=False),
        sa.Column('acquired_at', core.platform.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('renewed_at', core.platform.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('expires_at', core.platform.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('state', sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint('name', name=op.f('pk_leases')),
    )


def downgrade() -> None:
    op.drop_table('leases')
