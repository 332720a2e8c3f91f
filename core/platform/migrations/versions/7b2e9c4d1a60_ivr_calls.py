"""ivr_calls: each toll-free call's menu state between webhooks, and its log

Revision ID: 7b2e9c4d1a60
Revises: 7d5e2c9a4f10
Create Date: 2026-11-23 17:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import core.platform.db

revision = '7b2e9c4d1a60'
down_revision = '7d5e2c9a4f10'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'ivr_calls',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
        sa.Column('call_sid', sa.String(length=64), nullable=False),
        sa.Column('channel', sa.String(length=10), nullable=False),
        sa.Column('caller_masked', sa.String(length=32), nullable=False),
        sa.Column('language', sa.String(length=2), nullable=True),
        sa.Column('node', sa.String(length=20), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('number', sa.String(length=20), nullable=True),
        sa.Column('replay', sa.Text(), nullable=True),
        sa.Column('path', sa.Text(), nullable=False),
        sa.Column('outcome', sa.String(length=20), nullable=True),
        sa.Column('started_at', core.platform.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('ended_at', core.platform.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column('duration_seconds', sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_ivr_calls')),
        sa.UniqueConstraint('call_sid', name=op.f('uq_ivr_calls_call_sid')),
    )
    op.create_index(op.f('ix_ivr_calls_started_at'), 'ivr_calls', ['started_at'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_ivr_calls_started_at'), table_name='ivr_calls')
    op.drop_table('ivr_calls')
