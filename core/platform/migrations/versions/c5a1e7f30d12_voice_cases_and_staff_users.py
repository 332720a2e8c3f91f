"""voice cases, staff users, audit log, calendar versions

Revision ID: c5a1e7f30d12
Revises: a3d9f2c71e58
Create Date: 2026-12-05 01:21:07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import core.platform.db

revision = 'c5a1e7f30d12'
down_revision = 'a3d9f2c71e58'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('calendar_versions',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('created_at', core.platform.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('reason', sa.String(length=200), nullable=False),
    sa.Column('definition', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_calendar_versions'))
    )
    op.create_table('staff_users',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('login', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('role', sa.String(length=20), nullable=False),
    sa.Column('agency_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('mobile', sa.String(length=20), nullable=True),
    sa.Column('email', sa.String(length=254), nullable=True),
    sa.Column('password_hash', sa.String(length=200), nullable=False),
    sa.Column('must_change_password', sa.Boolean(), nullable=False),
    sa.Column('failed_logins', sa.Integer(), nullable=False),
    sa.Column('locked_until', core.platform.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', core.platform.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_login_at', core.platform.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('disabled_at', core.platform.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['agency_id'], ['agencies.id'], name=op.f('fk_staff_users_agency_id_agencies')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_staff_users')),
    sa.UniqueConstraint('login', name=op.f('uq_staff_users_login'))
    )
    with op.batch_alter_table('staff_users', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_staff_users_agency_id'), ['agency_id'], unique=False)

    op.create_table('voice_categories',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('agency_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('name_ar', sa.String(length=200), nullable=False),
    sa.Column('name_en', sa.String(length=200), nullable=False),
    sa.Column('types', sa.JSON(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('updated_at', core.platform.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['agency_id'], ['agencies.id'], name=op.f('fk_voice_categories_agency_id_agencies')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_voice_categories')),
    sa.UniqueConstraint('code', name=op.f('uq_voice_categories_code'))
    )
    with op.batch_alter_table('voice_categories', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_voice_categories_agency_id'), ['agency_id'], unique=False)

    op.create_table('audit_log',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('at', core.platform.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('role', sa.String(length=20), nullable=False),
    sa.Column('action', sa.String(length=30), nullable=False),
    sa.Column('object_kind', sa.String(length=30), nullable=False),
    sa.Column('object_id', sa.String(length=64), nullable=False),
    sa.Column('detail', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['staff_users.id'], name=op.f('fk_audit_log_user_id_staff_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_log'))
    )
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_log_at'), ['at'], unique=False)
        batch_op.create_index('ix_audit_log_object', ['object_kind', 'object_id', 'at'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_log_user_id'), ['user_id'], unique=False)

    op.create_table('voice_policies',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('agency_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('category_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('case_type', sa.String(length=12), nullable=True),
    sa.Column('acknowledge_value', sa.Integer(), nullable=False),
    sa.Column('acknowledge_unit', sa.String(length=1), nullable=False),
    sa.Column('answer_value', sa.Integer(), nullable=False),
    sa.Column('answer_unit', sa.String(length=1), nullable=False),
    sa.Column('created_at', core.platform.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('superseded_at', core.platform.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['agency_id'], ['agencies.id'], name=op.f('fk_voice_policies_agency_id_agencies')),
    sa.ForeignKeyConstraint(['category_id'], ['voice_categories.id'], name=op.f('fk_voice_policies_category_id_voice_categories')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_voice_policies'))
    )
    with op.batch_alter_table('voice_policies', schema=None) as batch_op:
        batch_op.create_index('ix_voice_policies_scope', ['agency_id', 'category_id', 'case_type'], unique=False)

    op.create_table('voice_cases',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('tracking', sa.String(length=16), nullable=False),
    sa.Column('case_type', sa.String(length=12), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('agency_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('about_agency_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('about_own_staff', sa.Boolean(), nullable=False),
    sa.Column('category_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('channel', sa.String(length=10), nullable=False),
    sa.Column('language', sa.String(length=2), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('citizen_name', sa.String(length=200), nullable=True),
    sa.Column('citizen_mobile', sa.String(length=20), nullable=True),
    sa.Column('citizen_email', sa.String(length=254), nullable=True),
    sa.Column('citizen_national_id_hash', sa.String(length=64), nullable=True),
    sa.Column('assigned_user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('duplicate_of_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('cycle', sa.SmallInteger(), nullable=False),
    sa.Column('policy_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('calendar_version', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('received_at', core.platform.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('cycle_started_at', core.platform.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('acknowledged_at', core.platform.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('answered_at', core.platform.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('closed_at', core.platform.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('acknowledge_due', core.platform.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('answer_due', core.platform.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('paused_since', core.platform.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('escalation', sa.SmallInteger(), nullable=False),
    sa.Column('next_alarm_at', core.platform.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('rating', sa.SmallInteger(), nullable=True),
    sa.Column('rated_at', core.platform.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('updated_at', core.platform.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['about_agency_id'], ['agencies.id'], name=op.f('fk_voice_cases_about_agency_id_agencies')),
    sa.ForeignKeyConstraint(['agency_id'], ['agencies.id'], name=op.f('fk_voice_cases_agency_id_agencies')),
    sa.ForeignKeyConstraint(['assigned_user_id'], ['staff_users.id'], name=op.f('fk_voice_cases_assigned_user_id_staff_users')),
    sa.ForeignKeyConstraint(['calendar_version'], ['calendar_versions.id'], name=op.f('fk_voice_cases_calendar_version_calendar_versions')),
    sa.ForeignKeyConstraint(['category_id'], ['voice_categories.id'], name=op.f('fk_voice_cases_category_id_voice_categories')),
    sa.ForeignKeyConstraint(['duplicate_of_id'], ['voice_cases.id'], name=op.f('fk_voice_cases_duplicate_of_id_voice_cases')),
    sa.ForeignKeyConstraint(['policy_id'], ['voice_policies.id'], name=op.f('fk_voice_cases_policy_id_voice_policies')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_voice_cases')),
    sa.UniqueConstraint('tracking', name=op.f('uq_voice_cases_tracking'))
    )
    with op.batch_alter_table('voice_cases', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_voice_cases_citizen_mobile'), ['citizen_mobile'], unique=False)
        batch_op.create_index(batch_op.f('ix_voice_cases_citizen_national_id_hash'), ['citizen_national_id_hash'], unique=False)
        batch_op.create_index('ix_voice_cases_inbox', ['agency_id', 'state', 'answer_due'], unique=False)
        batch_op.create_index(batch_op.f('ix_voice_cases_next_alarm_at'), ['next_alarm_at'], unique=False)
        batch_op.create_index('ix_voice_cases_queue', ['assigned_user_id', 'state', 'answer_due'], unique=False)

    op.create_table('voice_alarms',
    sa.Column('case_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('cycle', sa.SmallInteger(), nullable=False),
    sa.Column('level', sa.SmallInteger(), nullable=False),
    sa.Column('raised_at', core.platform.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['voice_cases.id'], name=op.f('fk_voice_alarms_case_id_voice_cases')),
    sa.PrimaryKeyConstraint('case_id', 'cycle', 'level', name=op.f('pk_voice_alarms'))
    )
    op.create_table('voice_answers',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('case_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('cycle', sa.SmallInteger(), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('drafted_by', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('drafted_at', core.platform.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('approved_by', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('sent_at', core.platform.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('superseded', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['approved_by'], ['staff_users.id'], name=op.f('fk_voice_answers_approved_by_staff_users')),
    sa.ForeignKeyConstraint(['case_id'], ['voice_cases.id'], name=op.f('fk_voice_answers_case_id_voice_cases')),
    sa.ForeignKeyConstraint(['drafted_by'], ['staff_users.id'], name=op.f('fk_voice_answers_drafted_by_staff_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_voice_answers'))
    )
    with op.batch_alter_table('voice_answers', schema=None) as batch_op:
        batch_op.create_index('ix_voice_answers_case', ['case_id', 'id'], unique=False)

    op.create_table('voice_case_events',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('case_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('at', core.platform.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('actor_user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('actor_role', sa.String(length=20), nullable=False),
    sa.Column('action', sa.String(length=20), nullable=False),
    sa.Column('from_state', sa.String(length=20), nullable=True),
    sa.Column('to_state', sa.String(length=20), nullable=False),
    sa.Column('cycle', sa.SmallInteger(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('detail', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['actor_user_id'], ['staff_users.id'], name=op.f('fk_voice_case_events_actor_user_id_staff_users')),
    sa.ForeignKeyConstraint(['case_id'], ['voice_cases.id'], name=op.f('fk_voice_case_events_case_id_voice_cases')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_voice_case_events'))
    )
    with op.batch_alter_table('voice_case_events', schema=None) as batch_op:
        batch_op.create_index('ix_voice_case_events_case', ['case_id', 'id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('voice_case_events', schema=None) as batch_op:
        batch_op.drop_index('ix_voice_case_events_case')

    op.drop_table('voice_case_events')
    with op.batch_alter_table('voice_answers', schema=None) as batch_op:
        batch_op.drop_index('ix_voice_answers_case')

    op.drop_table('voice_answers')
    op.drop_table('voice_alarms')
    with op.batch_alter_table('voice_cases', schema=None) as batch_op:
        batch_op.drop_index('ix_voice_cases_queue')
        batch_op.drop_index(batch_op.f('ix_voice_cases_next_alarm_at'))
        batch_op.drop_index('ix_voice_cases_inbox')
        batch_op.drop_index(batch_op.f('ix_voice_cases_citizen_national_id_hash'))
        batch_op.drop_index(batch_op.f('ix_voice_cases_citizen_mobile'))

    op.drop_table('voice_cases')
    with op.batch_alter_table('voice_policies', schema=None) as batch_op:
        batch_op.drop_index('ix_voice_policies_scope')

    op.drop_table('voice_policies')
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_log_user_id'))
        batch_op.drop_index('ix_audit_log_object')
        batch_op.drop_index(batch_op.f('ix_audit_log_at'))

    op.drop_table('audit_log')
    with op.batch_alter_table('voice_categories', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_voice_categories_agency_id'))

    op.drop_table('voice_categories')
    with op.batch_alter_table('staff_users', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_staff_users_agency_id'))

    op.drop_table('staff_users')
    op.drop_table('calendar_versions')
