"""inbound parts: the parts of multi-part SMS, stored before they are acknowledged

Revision ID: 5a8d3f1c9e27
Revises: 7d5e2b9a4c10
Create Date: 2026-11-23 18:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import core.platform.db

revision = '5a8d3f1c9e27'
down_revision = '7d5e2b9a4c10'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'inbound_parts',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
        sa.Column('sender', sa.String(length=64), nullable=False),
        sa.Column('reference', sa.Integer(), nullable=False),
        sa.Column('total', sa.Integer(), nullable=False),
        sa.Column('seq', sa.Integer(), nullable=False),
        sa.Column('recipient', sa.String(length=64), nullable=False),
        sa.Column('payload', sa.LargeBinary(), nullable=False),
        sa.Column('coding', sa.Integer(), nullable=False),
        sa.Column('received_at', core.platform.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('joined_at', core.platform.db.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_inbound_parts')),
        sa.UniqueConstraint('sender', 'reference', 'total', 'seq',
                            name=op.f('uq_inbound_parts_sender')),
    )
    op.create_index('ix_inbound_parts_joined_at_received_at', 'inbound_parts',
                    ['joined_at', 'received_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_inbound_parts_joined_at_received_at', table_name='inbound_parts')
    op.drop_table('inbound_parts')
