"""the leader's list of one category: an agency's cases by category, state and deadline

Revision ID: b6d2f8a3c915
Revises: a3c9e1f7b204
Create Date: 2026-12-05 04:30:00

With only (agency_id, state, answer_due) the list of one category read the agency's
cases in deadline order and kept the category's: the slowest of the staff pages at a
million cases (bench/voice_pages.py). This index reads the category's cases alone.
"""

from __future__ import annotations

from alembic import op

revision = 'b6d2f8a3c915'
down_revision = 'a3c9e1f7b204'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('voice_cases', schema=None) as batch_op:
        batch_op.create_index('ix_voice_cases_category',
                              ['agency_id', 'category_id', 'state', 'answer_due'],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table('voice_cases', schema=None) as batch_op:
        batch_op.drop_index('ix_voice_cases_category')
