"""staff users' sessions and personal tokens

Revision ID: d7e3b1a9c524
Revises: c5a1e7f30d12
Create Date: 2026-12-05 01:45:00

A staff session is opened by a staff token (the phone simulator) or by a staff user's
password: ``staff_sessions.user_id``, and ``token_id`` no longer required. A personal API
token acts as a staff user: ``api_tokens.user_id``.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = 'd7e3b1a9c524'
down_revision = 'c5a1e7f30d12'
branch_labels = None
depends_on = None


def upgrade() -> None:
    big_id = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
    with op.batch_alter_table('staff_sessions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('user_id', big_id, nullable=True))
        batch_op.alter_column('token_id', existing_type=big_id, nullable=True)
        batch_op.create_index(batch_op.f('ix_staff_sessions_user_id'), ['user_id'],
                              unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_staff_sessions_user_id_staff_users'),
                                    'staff_users', ['user_id'], ['id'], ondelete='CASCADE')
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.add_column(sa.Column('user_id', big_id, nullable=True))
        batch_op.create_index(batch_op.f('ix_api_tokens_user_id'), ['user_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_api_tokens_user_id_staff_users'),
                                    'staff_users', ['user_id'], ['id'])


def downgrade() -> None:
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_api_tokens_user_id_staff_users'),
                                 type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_api_tokens_user_id'))
        batch_op.drop_column('user_id')
    op.execute("DELETE FROM staff_sessions WHERE token_id IS NULL")
    with op.batch_alter_table('staff_sessions', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_staff_sessions_user_id_staff_users'),
                                 type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_staff_sessions_user_id'))
        batch_op.alter_column('token_id', existing_type=sa.BigInteger().with_variant(
            sa.Integer(), 'sqlite'), nullable=False)
        batch_op.drop_column('user_id')
