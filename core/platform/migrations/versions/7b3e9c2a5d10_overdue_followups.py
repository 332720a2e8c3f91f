"""overdue follow-ups: holidays, the overdue clock, day counting and an index per department

Revision ID: 7b3e9c2a5d10
Revises: 7b2e9c4d1a60
Create Date: 2026-11-23 17:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import core.platform.db

revision = '7b3e9c2a5d10'
down_revision = '7b2e9c4d1a60'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'holidays',
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('name', sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint('day', name=op.f('pk_holidays')),
    )
    op.create_table(
        'overdue_followups',
        sa.Column('transaction_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'),
                  nullable=False),
        sa.Column('cycles', sa.Integer(), nullable=False),
        sa.Column('first_notified_at', core.platform.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column('last_notified_at', core.platform.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column('next_reminder_at', core.platform.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column('stopped_reason', sa.String(length=100), nullable=True),
        sa.ForeignKeyConstraint(['transaction_id'], ['transactions.id'],
                                name=op.f('fk_overdue_followups_transaction_id_transactions')),
        sa.PrimaryKeyConstraint('transaction_id', name=op.f('pk_overdue_followups')),
    )
    op.create_index(op.f('ix_overdue_followups_next_reminder_at'), 'overdue_followups',
                    ['next_reminder_at'], unique=False)
    with op.batch_alter_table('departments') as batch:
        batch.add_column(sa.Column('reply_day_count', sa.String(length=8), nullable=True))
    op.create_index('ix_transactions_awaiting_by_department', 'transactions',
                    ['department_id', 'status', 'reply_expected', 'issued_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_transactions_awaiting_by_department', table_name='transactions')
    with op.batch_alter_table('departments') as batch:
        batch.drop_column('reply_day_count')
    op.drop_index(op.f('ix_overdue_followups_next_reminder_at'),
                  table_name='overdue_followups')
    op.drop_table('overdue_followups')
    op.drop_table('holidays')
