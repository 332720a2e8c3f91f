"""the outbox's due index in sending order (status, channel, priority, id)

Revision ID: 9c4e7a2b1d38
Revises: 5a8d3f1c9e27
Create Date: 2026-11-23 18:40:00

The old index (status, priority, not_before, id) made every claim sort all pending rows
of a priority by id: with a backlog of 100,000 notifications, each claim read them all.
"""

from __future__ import annotations

from alembic import op

revision = '9c4e7a2b1d38'
down_revision = '5a8d3f1c9e27'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.drop_index('ix_notifications_due')
        batch_op.create_index('ix_notifications_due', ['status', 'channel', 'priority', 'id'],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.drop_index('ix_notifications_due')
        batch_op.create_index('ix_notifications_due', ['status', 'priority', 'not_before', 'id'],
                              unique=False)
