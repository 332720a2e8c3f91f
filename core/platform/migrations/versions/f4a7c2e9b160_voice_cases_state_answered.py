"""answered cases by (state, answered_at): closing them when the reopen window passed

Revision ID: f4a7c2e9b160
Revises: e2c6a0f4b913
Create Date: 2026-12-05 02:40:00

The scheduler closes answered cases whose reopen window has passed
(core/voice/closing.py): it reads the answered cases answered before an instant, a
range of this index, never the whole table.
"""

from __future__ import annotations

from alembic import op

revision = 'f4a7c2e9b160'
down_revision = 'e2c6a0f4b913'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('voice_cases', schema=None) as batch_op:
        batch_op.create_index('ix_voice_cases_state_answered', ['state', 'answered_at'],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table('voice_cases', schema=None) as batch_op:
        batch_op.drop_index('ix_voice_cases_state_answered')
