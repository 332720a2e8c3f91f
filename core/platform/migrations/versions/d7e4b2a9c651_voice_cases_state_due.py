"""leadership's list across agencies: voice cases by (state, answer_due, id)

Revision ID: d7e4b2a9c651
Revises: d8b2f6a41c07
Create Date: 2026-12-05 02:10:00

Leadership's list has no agency to lead the inbox index with: without this one, each
state's branch of the list read the whole table (bench/voice.py: 182 ms at 20,000
cases, growing with the table). The id is in it for PostgreSQL, whose index entries of
one deadline (all the paused cases: none) are not in id order: without it a page of
the cases awaiting the citizen read and sorted all 20,000 of them (340 ms).
"""

from __future__ import annotations

from alembic import op

revision = 'd7e4b2a9c651'
down_revision = 'd8b2f6a41c07'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('voice_cases', schema=None) as batch_op:
        batch_op.create_index('ix_voice_cases_state_due', ['state', 'answer_due', 'id'],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table('voice_cases', schema=None) as batch_op:
        batch_op.drop_index('ix_voice_cases_state_due')
