"""staff_sessions: staff sign-ins recorded on the server

Revision ID: 9431ae4393e9
Revises: 4f6b2d8e1c93
Create Date: 2026-12-04 23:14:25

One row per sign-in at /simulator/login: the hash of the random id the cookie carries,
the token it was opened with, when it started and was last used, and when it ended
(signed out, idle or too old). Every process checks it on each request, so signing out
ends the session everywhere and a copied cookie stops working.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import core.platform.db

revision = '9431ae4393e9'
down_revision = '4f6b2d8e1c93'
branch_labels = None
depends_on = None


def upgrade() -> None:
    big_id = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
    op.create_table(
        'staff_sessions',
        sa.Column('id', big_id, nullable=False),
        sa.Column('session_hash', sa.String(length=64), nullable=False),
        sa.Column('token_id', big_id, nullable=False),
        sa.Column('created_at', core.platform.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('last_seen_at', core.platform.db.UTCDateTime(timezone=True),
                  nullable=False),
        sa.Column('ended_at', core.platform.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['token_id'], ['api_tokens.id'],
                                name=op.f('fk_staff_sessions_token_id_api_tokens'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_staff_sessions')),
        sa.UniqueConstraint('session_hash', name=op.f('uq_staff_sessions_session_hash')),
    )
    op.create_index('ix_staff_sessions_token_id', 'staff_sessions', ['token_id'],
                    unique=False)


def downgrade() -> None:
    op.drop_index('ix_staff_sessions_token_id', table_name='staff_sessions')
    op.drop_table('staff_sessions')
