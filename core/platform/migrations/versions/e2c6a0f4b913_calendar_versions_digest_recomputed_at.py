"""calendar versions: their digest, and when the open cases were retimed under each

Revision ID: e2c6a0f4b913
Revises: d7e4b2a9c651
Create Date: 2026-12-05 03:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import core.platform.db

revision = 'e2c6a0f4b913'
down_revision = 'd7e4b2a9c651'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('calendar_versions') as batch:
        batch.add_column(sa.Column('digest', sa.String(length=64), nullable=True))
        batch.add_column(sa.Column('recomputed_at', core.platform.db.UTCDateTime(timezone=True),
                                   nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('calendar_versions') as batch:
        batch.drop_column('recomputed_at')
        batch.drop_column('digest')
