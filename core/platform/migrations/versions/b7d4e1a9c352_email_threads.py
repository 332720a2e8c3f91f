"""Citizen's Voice by e-mail: the thread a case's mails to its citizen are written in

Revision ID: b7d4e1a9c352
Revises: b6d2f8a3c915
Create Date: 2026-12-05 04:30:00

A case filed by e-mail keeps the References its mails to the citizen carry (their first
mail's Message-ID after the thread it answered); each such outbox row gets its
In-Reply-To and References in ``email_threads``, so that the SMTP sender writes it into
the citizen's thread.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = 'b7d4e1a9c352'
down_revision = 'b6d2f8a3c915'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('voice_cases', schema=None) as batch_op:
        batch_op.add_column(sa.Column('email_thread', sa.Text(), nullable=True))
    op.create_table(
        'email_threads',
        sa.Column('notification_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'),
                  nullable=False),
        sa.Column('in_reply_to', sa.Text(), nullable=True),
        sa.Column('references', sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(['notification_id'], ['notifications.id'],
                                name=op.f('fk_email_threads_notification_id_notifications')),
        sa.PrimaryKeyConstraint('notification_id', name=op.f('pk_email_threads')),
    )


def downgrade() -> None:
    op.drop_table('email_threads')
    with op.batch_alter_table('voice_cases', schema=None) as batch_op:
        batch_op.drop_column('email_thread')
