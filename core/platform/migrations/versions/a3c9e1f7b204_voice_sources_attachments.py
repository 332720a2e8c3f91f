"""Citizen's Voice on every channel: a case and a citizen's act filed once per channel
message (source keys), and the photos and recordings citizens give with a case

Revision ID: a3c9e1f7b204
Revises: f4a7c2e9b160
Create Date: 2026-12-05 04:15:00

A channel that files a case (an SMS, a mail, a call) may file it again after a crash or
a redelivery: the unique source key finds the case it filed instead of a second one.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import core.platform.db

revision = 'a3c9e1f7b204'
down_revision = 'f4a7c2e9b160'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('voice_cases', schema=None) as batch_op:
        batch_op.add_column(sa.Column('source_key', sa.String(length=200), nullable=True))
        batch_op.create_unique_constraint('uq_voice_cases_source_key', ['source_key'])
    with op.batch_alter_table('voice_case_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('source_key', sa.String(length=200), nullable=True))
        batch_op.create_unique_constraint('uq_voice_case_events_source_key', ['source_key'])
    op.create_table(
        'voice_attachments',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
        sa.Column('case_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'),
                  nullable=False),
        sa.Column('kind', sa.String(length=10), nullable=False),
        sa.Column('content_type', sa.String(length=100), nullable=False),
        sa.Column('byte_size', sa.Integer(), nullable=False),
        sa.Column('data', sa.LargeBinary(), nullable=True),
        sa.Column('source_url', sa.Text(), nullable=True),
        sa.Column('fetch_attempts', sa.SmallInteger(), nullable=False),
        sa.Column('seconds', sa.Integer(), nullable=True),
        sa.Column('created_at', core.platform.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('fetched_at', core.platform.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['case_id'], ['voice_cases.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('voice_attachments', schema=None) as batch_op:
        batch_op.create_index('ix_voice_attachments_case_id', ['case_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('voice_attachments', schema=None) as batch_op:
        batch_op.drop_index('ix_voice_attachments_case_id')
    op.drop_table('voice_attachments')
    with op.batch_alter_table('voice_case_events', schema=None) as batch_op:
        batch_op.drop_constraint('uq_voice_case_events_source_key', type_='unique')
        batch_op.drop_column('source_key')
    with op.batch_alter_table('voice_cases', schema=None) as batch_op:
        batch_op.drop_constraint('uq_voice_cases_source_key', type_='unique')
        batch_op.drop_column('source_key')
