"""enquiries answered by the department that holds the transaction; an applicant's
transactions by their national ID's hash

Revision ID: c8f1a5d3e720
Revises: b6e4d2f8a915
Create Date: 2026-12-05 05:00:00

A case may be about one transaction (``transaction_id``) and held by one of the
emirate's departments (``department_id``); a member of staff may belong to a department.
"My transactions" lists an applicant's transactions by the keyed hash of their national
ID: an index, not a scan.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = 'c8f1a5d3e720'
down_revision = 'b6e4d2f8a915'
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    with op.batch_alter_table('staff_users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('department_id', _ID, nullable=True))
        batch_op.create_index('ix_staff_users_department_id', ['department_id'], unique=False)
        batch_op.create_foreign_key('fk_staff_users_department_id_departments',
                                    'departments', ['department_id'], ['id'])
    with op.batch_alter_table('voice_cases', schema=None) as batch_op:
        batch_op.add_column(sa.Column('transaction_id', _ID, nullable=True))
        batch_op.add_column(sa.Column('department_id', _ID, nullable=True))
        batch_op.create_index('ix_voice_cases_transaction_id', ['transaction_id'],
                              unique=False)
        batch_op.create_foreign_key('fk_voice_cases_transaction_id_transactions',
                                    'transactions', ['transaction_id'], ['id'])
        batch_op.create_foreign_key('fk_voice_cases_department_id_departments',
                                    'departments', ['department_id'], ['id'])
    with op.batch_alter_table('transactions', schema=None) as batch_op:
        batch_op.create_index('ix_transactions_applicant_national_id_hash',
                              ['applicant_national_id_hash'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('transactions', schema=None) as batch_op:
        batch_op.drop_index('ix_transactions_applicant_national_id_hash')
    with op.batch_alter_table('voice_cases', schema=None) as batch_op:
        batch_op.drop_constraint('fk_voice_cases_department_id_departments',
                                 type_='foreignkey')
        batch_op.drop_constraint('fk_voice_cases_transaction_id_transactions',
                                 type_='foreignkey')
        batch_op.drop_index('ix_voice_cases_transaction_id')
        batch_op.drop_column('department_id')
        batch_op.drop_column('transaction_id')
    with op.batch_alter_table('staff_users', schema=None) as batch_op:
        batch_op.drop_constraint('fk_staff_users_department_id_departments',
                                 type_='foreignkey')
        batch_op.drop_index('ix_staff_users_department_id')
        batch_op.drop_column('department_id')
