"""calendar overrides (date ranges with working hours of their own, such as Ramadan's)

Revision ID: d8b2f6a41c07
Revises: d7e3b1a9c524
Create Date: 2026-12-05 01:50:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import core.platform.db

revision = 'd8b2f6a41c07'
down_revision = 'd7e3b1a9c524'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('calendar_overrides',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('first_day', sa.Date(), nullable=False),
    sa.Column('last_day', sa.Date(), nullable=False),
    sa.Column('hours', sa.JSON(), nullable=False),
    sa.Column('created_at', core.platform.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_calendar_overrides'))
    )
    op.create_index(op.f('ix_calendar_overrides_first_day'), 'calendar_overrides',
                    ['first_day'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_calendar_overrides_first_day'), table_name='calendar_overrides')
    op.drop_table('calendar_overrides')
