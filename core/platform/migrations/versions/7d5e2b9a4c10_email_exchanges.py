"""e-mail: the exchange behind each inbound mail and its reply; the mailbox cursor;
recent messages by sender

Revision ID: 7d5e2b9a4c10
Revises: 5e8a1c3f9b27
Create Date: 2026-11-23 17:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import core.platform.db

revision = '7d5e2b9a4c10'
down_revision = '5e8a1c3f9b27'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'email_exchanges',
        sa.Column('inbound_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'),
                  nullable=False),
        sa.Column('message_id', sa.Text(), nullable=True),
        sa.Column('reply_subject', sa.Text(), nullable=False),
        sa.Column('references', sa.Text(), nullable=False),
        sa.Column('sections', sa.JSON(), nullable=False),
        sa.Column('note', sa.String(length=64), nullable=True),
        sa.Column('notification_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'),
                  nullable=True),
        sa.ForeignKeyConstraint(['inbound_id'], ['inbound_messages.id'],
                                name=op.f('fk_email_exchanges_inbound_id_inbound_messages')),
        sa.ForeignKeyConstraint(['notification_id'], ['notifications.id'],
                                name=op.f('fk_email_exchanges_notification_id_notifications')),
        sa.PrimaryKeyConstraint('inbound_id', name=op.f('pk_email_exchanges')),
        sa.UniqueConstraint('notification_id',
                            name=op.f('uq_email_exchanges_notification_id')),
    )
    op.create_table(
        'mailbox_cursors',
        sa.Column('mailbox', sa.String(length=255), nullable=False),
        sa.Column('uidvalidity', sa.BigInteger(), nullable=False),
        sa.Column('last_uid', sa.BigInteger(), nullable=False),
        sa.Column('updated_at', core.platform.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('mailbox', name=op.f('pk_mailbox_cursors')),
    )
    op.create_index('ix_inbound_messages_sender_received', 'inbound_messages',
                    ['sender', 'received_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_inbound_messages_sender_received', table_name='inbound_messages')
    op.drop_table('mailbox_cursors')
    op.drop_table('email_exchanges')
