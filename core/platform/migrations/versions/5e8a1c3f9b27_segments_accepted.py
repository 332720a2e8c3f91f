"""notifications.segments_accepted: the parts of a message the SMSC already accepted

Revision ID: 5e8a1c3f9b27
Revises: 7b3e9c2a5d10
Create Date: 2026-11-23 17:55:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '5e8a1c3f9b27'
down_revision = '7b3e9c2a5d10'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.add_column(sa.Column('segments_accepted', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.drop_column('segments_accepted')
