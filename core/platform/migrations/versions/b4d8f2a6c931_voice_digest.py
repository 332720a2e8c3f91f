"""the leaders' weekly digest: a staff user's own language, and the HTML part an e-mail
notification is sent with

Revision ID: b4d8f2a6c931
Revises: d7b3e9a1c524
Create Date: 2026-12-05 06:00:00

``staff_users.language`` (null: the deployment's language) and ``email_html_parts`` (one
row per e-mail notification written with its own HTML: core/dashboards/digest.py).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = 'b4d8f2a6c931'
down_revision = 'd7b3e9a1c524'
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    with op.batch_alter_table('staff_users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('language', sa.String(length=2), nullable=True))
    op.create_table(
        'email_html_parts',
        sa.Column('notification_id', _ID, nullable=False),
        sa.Column('html', sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(['notification_id'], ['notifications.id'],
                                name=op.f('fk_email_html_parts_notification_id_notifications')),
        sa.PrimaryKeyConstraint('notification_id', name=op.f('pk_email_html_parts')),
    )


def downgrade() -> None:
    op.drop_table('email_html_parts')
    with op.batch_alter_table('staff_users', schema=None) as batch_op:
        batch_op.drop_column('language')
