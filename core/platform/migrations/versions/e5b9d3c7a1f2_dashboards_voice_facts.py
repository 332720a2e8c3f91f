"""the dashboards' summary: one row per Citizen's Voice case cycle, and where its
refresh stands; the indexes the incremental refresh reads changes by

Revision ID: e5b9d3c7a1f2
Revises: c8f1a5d3e720
Create Date: 2026-12-05 05:20:00

``voice_case_facts`` (core/dashboards/models.py) is filled by the scheduler's refresh or
``gateway dashboards rebuild``; nothing is computed here.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import core.platform.db

revision = 'e5b9d3c7a1f2'
down_revision = 'c8f1a5d3e720'
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
_AT = core.platform.db.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        'voice_case_facts',
        sa.Column('case_id', _ID, nullable=False),
        sa.Column('cycle', sa.SmallInteger(), nullable=False),
        sa.Column('agency_id', _ID, nullable=False),
        sa.Column('category_id', _ID, nullable=True),
        sa.Column('channel', sa.String(length=10), nullable=False),
        sa.Column('case_type', sa.String(length=12), nullable=False),
        sa.Column('assigned_user_id', _ID, nullable=True),
        sa.Column('excluded', sa.Boolean(), nullable=False),
        sa.Column('started_at', _AT, nullable=False),
        sa.Column('acknowledged_at', _AT, nullable=True),
        sa.Column('acknowledge_due', _AT, nullable=True),
        sa.Column('acknowledged_on_time', sa.Boolean(), nullable=True),
        sa.Column('first_response_minutes', sa.Integer(), nullable=True),
        sa.Column('answered_at', _AT, nullable=True),
        sa.Column('answer_due', _AT, nullable=True),
        sa.Column('answered_on_time', sa.Boolean(), nullable=True),
        sa.Column('answer_minutes', sa.Integer(), nullable=True),
        sa.Column('rating', sa.SmallInteger(), nullable=True),
        sa.Column('reopened', sa.Boolean(), nullable=False),
        sa.Column('warning_at', _AT, nullable=True),
        sa.Column('breach_at', _AT, nullable=True),
        sa.Column('leadership_at', _AT, nullable=True),
        sa.Column('last_alarm_at', _AT, nullable=True),
        sa.PrimaryKeyConstraint('case_id', 'cycle', name='pk_voice_case_facts'),
    )
    op.create_index('ix_voice_case_facts_started', 'voice_case_facts',
                    ['started_at', 'agency_id'])
    op.create_index('ix_voice_case_facts_acknowledged', 'voice_case_facts',
                    ['acknowledged_at', 'agency_id'])
    op.create_index('ix_voice_case_facts_answered', 'voice_case_facts',
                    ['answered_at', 'agency_id'])
    op.create_index('ix_voice_case_facts_last_alarm', 'voice_case_facts', ['last_alarm_at'])
    op.create_table(
        'dashboard_refreshes',
        sa.Column('name', sa.String(length=40), nullable=False),
        sa.Column('as_of', _AT, nullable=False),
        sa.Column('changes_from', _AT, nullable=False),
        sa.Column('rebuilt_at', _AT, nullable=True),
        sa.Column('cases', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('name', name='pk_dashboard_refreshes'),
    )
    op.create_index('ix_voice_cases_updated', 'voice_cases', ['updated_at'])
    op.create_index('ix_voice_alarms_raised', 'voice_alarms', ['raised_at'])


def downgrade() -> None:
    op.drop_index('ix_voice_alarms_raised', table_name='voice_alarms')
    op.drop_index('ix_voice_cases_updated', table_name='voice_cases')
    op.drop_table('dashboard_refreshes')
    op.drop_index('ix_voice_case_facts_last_alarm', table_name='voice_case_facts')
    op.drop_index('ix_voice_case_facts_answered', table_name='voice_case_facts')
    op.drop_index('ix_voice_case_facts_acknowledged', table_name='voice_case_facts')
    op.drop_index('ix_voice_case_facts_started', table_name='voice_case_facts')
    op.drop_table('voice_case_facts')
