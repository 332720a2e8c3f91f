"""notifications.claimed_by and notifications.receipt_id

Revision ID: 4f6b2d8e1c93
Revises: 9c4e7a2b1d38
Create Date: 2026-12-01 19:55:00

``claimed_by``: which sender holds a "sending" row (an SMS channel's heartbeat holder),
so a restarted sender gives back a dead one's claims as soon as its heartbeat expires,
not after the stale-claim age. ``receipt_id``: the first segment's provider id, indexed,
so a delivery receipt finds its message by equality in any status (an exact id in any
state wins over a hex/decimal reading of it).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '4f6b2d8e1c93'
down_revision = '9c4e7a2b1d38'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.add_column(sa.Column('claimed_by', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('receipt_id', sa.String(length=100), nullable=True))
        batch_op.create_index('ix_notifications_receipt_id', ['receipt_id'], unique=False)
    if op.get_bind().dialect.name == 'postgresql':
        first = "split_part(provider_message_id, ' ', 1)"
    else:
        first = "substr(provider_message_id, 1, instr(provider_message_id || ' ', ' ') - 1)"
    op.execute(f"UPDATE notifications SET receipt_id = {first} "
               "WHERE provider_message_id IS NOT NULL")


def downgrade() -> None:
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.drop_index('ix_notifications_receipt_id')
        batch_op.drop_column('receipt_id')
        batch_op.drop_column('claimed_by')
