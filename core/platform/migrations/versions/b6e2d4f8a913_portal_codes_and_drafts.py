"""One-time SMS codes proving a citizen's mobile, and the portal's drafts of cases
waiting for them

Revision ID: b6e2d4f8a913
Revises: b7d4e1a9c352
Create Date: 2026-12-05 04:40:00

The portal files a case only once its citizen typed the code sent to their mobile: the
form and its photos wait in the database meanwhile, so that any web process may take
the code.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import core.platform.db

revision = 'b6e2d4f8a913'
down_revision = 'b7d4e1a9c352'
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def _at(name: str, nullable: bool) -> sa.Column:
    return sa.Column(name, core.platform.db.UTCDateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        'one_time_codes',
        sa.Column('id', BIG_ID, nullable=False),
        sa.Column('purpose', sa.String(length=40), nullable=False),
        sa.Column('subject', sa.String(length=100), nullable=True),
        sa.Column('mobile', sa.String(length=20), nullable=False),
        sa.Column('live_key', sa.String(length=80), nullable=True),
        sa.Column('salt', sa.String(length=32), nullable=False),
        sa.Column('code_hash', sa.String(length=64), nullable=False),
        sa.Column('attempts', sa.SmallInteger(), nullable=False),
        sa.Column('sends', sa.SmallInteger(), nullable=False),
        _at('created_at', False), _at('sent_at', False), _at('expires_at', False),
        _at('verified_at', True), _at('ended_at', True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_one_time_codes')),
        sa.UniqueConstraint('live_key', name=op.f('uq_one_time_codes_live_key')),
    )
    with op.batch_alter_table('one_time_codes', schema=None) as batch_op:
        batch_op.create_index('ix_one_time_codes_ended_at', ['ended_at'], unique=False)
    op.create_table(
        'voice_drafts',
        sa.Column('id', BIG_ID, nullable=False),
        sa.Column('code_id', BIG_ID, nullable=False),
        sa.Column('data', sa.JSON(), nullable=False),
        _at('created_at', False),
        sa.ForeignKeyConstraint(['code_id'], ['one_time_codes.id'], ondelete='CASCADE',
                                name=op.f('fk_voice_drafts_code_id_one_time_codes')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_voice_drafts')),
        sa.UniqueConstraint('code_id', name=op.f('uq_voice_drafts_code_id')),
    )
    with op.batch_alter_table('voice_drafts', schema=None) as batch_op:
        batch_op.create_index('ix_voice_drafts_created_at', ['created_at'], unique=False)
    op.create_table(
        'voice_draft_photos',
        sa.Column('id', BIG_ID, nullable=False),
        sa.Column('draft_id', BIG_ID, nullable=False),
        sa.Column('content_type', sa.String(length=100), nullable=False),
        sa.Column('data', sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(['draft_id'], ['voice_drafts.id'], ondelete='CASCADE',
                                name=op.f('fk_voice_draft_photos_draft_id_voice_drafts')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_voice_draft_photos')),
    )
    with op.batch_alter_table('voice_draft_photos', schema=None) as batch_op:
        batch_op.create_index('ix_voice_draft_photos_draft_id', ['draft_id'], unique=False)


def downgrade() -> None:
    op.drop_table('voice_draft_photos')
    op.drop_table('voice_drafts')
    op.drop_table('one_time_codes')
