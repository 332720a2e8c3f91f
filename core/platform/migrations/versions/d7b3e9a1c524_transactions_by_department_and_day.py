"""the transactions' performance figures: a department's transactions registered, and
issued, in a period

Revision ID: d7b3e9a1c524
Revises: e5b9d3c7a1f2
Create Date: 2026-12-05 05:20:00

The dashboards count, department by department, the transactions registered and those
issued between two moments (core/dashboards/transactions.py). Without these indexes each
count scans the department's whole history (the existing department index leads with the
status, which these counts do not fix).
"""

from __future__ import annotations

from alembic import op

revision = 'd7b3e9a1c524'
down_revision = 'e5b9d3c7a1f2'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('transactions', schema=None) as batch_op:
        batch_op.create_index('ix_transactions_department_registered',
                              ['department_id', 'registered_at'], unique=False)
        batch_op.create_index('ix_transactions_department_issued',
                              ['department_id', 'issued_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('transactions', schema=None) as batch_op:
        batch_op.drop_index('ix_transactions_department_issued')
        batch_op.drop_index('ix_transactions_department_registered')
