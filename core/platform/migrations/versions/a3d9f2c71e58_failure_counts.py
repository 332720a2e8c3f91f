"""failure_counts: failed-inquiry counters shared by every process of the installation

Revision ID: a3d9f2c71e58
Revises: 9431ae4393e9
Create Date: 2026-12-01 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = 'a3d9f2c71e58'
down_revision = '9431ae4393e9'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'failure_counts',
        sa.Column('key', sa.String(length=64), nullable=False),
        sa.Column('failures', sa.Integer(), nullable=False),
        sa.Column('since', sa.Double(), nullable=False),
        sa.PrimaryKeyConstraint('key', name=op.f('pk_failure_counts')),
    )
    op.create_index(op.f('ix_failure_counts_since'), 'failure_counts', ['since'])


def downgrade() -> None:
    op.drop_index(op.f('ix_failure_counts_since'), table_name='failure_counts')
    op.drop_table('failure_counts')
