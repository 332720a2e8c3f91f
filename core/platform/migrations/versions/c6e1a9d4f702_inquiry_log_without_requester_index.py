"""inquiry_log: no index on requester_key

Revision ID: c6e1a9d4f702
Revises: b4d8f2a6c931
Create Date: 2026-12-05 08:00:00

The index served the inquiry limits when they read the log; they read ``failure_counts``
since issue 13 and nothing reads the log by requester. Each log row (one per inquiry, on
every channel) inserted a random key into it: about 14 µs and a page written per row.
"""

from __future__ import annotations

from alembic import op

revision = 'c6e1a9d4f702'
down_revision = 'b4d8f2a6c931'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A plain DROP INDEX (no batch: the log, possibly large, is not copied on SQLite).
    op.drop_index(op.f('ix_inquiry_log_requester_key'), table_name='inquiry_log')


def downgrade() -> None:
    op.create_index(op.f('ix_inquiry_log_requester_key'), 'inquiry_log', ['requester_key'],
                    unique=False)
