"""indexes measured at ten million transactions (bench/big.py)

Revision ID: e7c4a9f2b316
Revises: c6e1a9d4f702
Create Date: 2026-12-05 09:00:00

What bench/big.py found on PostgreSQL at 1,000,000 and 10,000,000 transactions
(bench/README.md has the figures):

- "My transactions" by mobile (the SMS keyword) read the whole table: an index on
  ``transactions.applicant_mobile``.
- The dashboard's times from registration to issue read every issued row of the period
  from the table: the department's issue index carries ``registered_at`` too, so the
  index alone answers (``ix_transactions_department_issued_registered`` in place of
  ``ix_transactions_department_issued``).
- Two indexes no query of the product reads, each written with every row:
  ``ix_transactions_status`` and ``ix_transactions_awaiting_reply`` (every status query
  names the department: ``ix_transactions_awaiting_by_department`` serves them). The
  inquiry log's ``ix_inquiry_log_requester_key`` (its largest; without it the log takes
  more than twice the rows a second) went in c6e1a9d4f702, found the same day.

On PostgreSQL a plain CREATE INDEX holds off writes to the table while it builds
(bench/big.py prints each build's time: seconds at a million rows, tens of seconds at
ten million): run `gateway db upgrade` after the upgrade, before starting, as the
README says.
"""

from __future__ import annotations

from alembic import op

revision = 'e7c4a9f2b316'
down_revision = 'c6e1a9d4f702'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('transactions', schema=None) as batch_op:
        batch_op.create_index('ix_transactions_applicant_mobile', ['applicant_mobile'],
                              unique=False)
        batch_op.create_index('ix_transactions_department_issued_registered',
                              ['department_id', 'issued_at', 'registered_at'], unique=False)
        batch_op.drop_index('ix_transactions_department_issued')
        batch_op.drop_index('ix_transactions_status')
        batch_op.drop_index('ix_transactions_awaiting_reply')


def downgrade() -> None:
    with op.batch_alter_table('transactions', schema=None) as batch_op:
        batch_op.create_index('ix_transactions_awaiting_reply',
                              ['status', 'reply_expected', 'issued_at'], unique=False)
        batch_op.create_index('ix_transactions_status', ['status'], unique=False)
        batch_op.create_index('ix_transactions_department_issued',
                              ['department_id', 'issued_at'], unique=False)
        batch_op.drop_index('ix_transactions_department_issued_registered')
        batch_op.drop_index('ix_transactions_applicant_mobile')
