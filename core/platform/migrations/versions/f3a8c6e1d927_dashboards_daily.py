"""the dashboards' daily tables: counts by day, agency, category, channel and type (and
by specialist), the backlog at the last refresh, and
histograms of the times by day and by week and agency; each fact's local days and bins
and three indexes by agency; the open cases' backlog indexed; a full refresh left
unfinished

Revision ID: f3a8c6e1d927
Revises: e7c4a9f2b316
Create Date: 2026-12-05 08:00:00

``voice_daily``, ``voice_daily_times`` and ``voice_weekly_times`` (core/dashboards/models.py)
are the sums of the facts, kept by the scheduler's refresh. The facts written before have no days: the
summary's refresh state is removed, so that the next refresh (or ``gateway dashboards
rebuild``) rewrites every case's facts and fills the daily tables; until it has, the
pages say the figures have not been computed yet. (The table is then empty: the new
column needs no default.)
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = 'f3a8c6e1d927'
down_revision = 'e7c4a9f2b316'
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
_DAYS = ('started_day', 'acknowledged_day', 'answered_day', 'warning_day', 'breach_day',
         'leadership_day')
_BINS = 225  # core.dashboards.histogram.BINS when this revision was written
_COUNTS = ('received', 'acknowledged', 'acknowledged_on_time', 'answered',
           'answered_on_time', 'rated', 'rating_sum', 'satisfied', 'reopened', 'warnings',
           'breaches', 'leadership_alarms')


def upgrade() -> None:
    with op.batch_alter_table('voice_case_facts', schema=None) as batch_op:
        for name in _DAYS:
            batch_op.add_column(sa.Column(name, sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('first_response_bin', sa.SmallInteger(), nullable=True))
        batch_op.add_column(sa.Column('answer_bin', sa.SmallInteger(), nullable=True))
    op.create_index('ix_voice_case_facts_agency_started', 'voice_case_facts',
                    ['agency_id', 'started_at'])
    op.create_index('ix_voice_case_facts_agency_acknowledged', 'voice_case_facts',
                    ['agency_id', 'acknowledged_at'])
    op.create_index('ix_voice_case_facts_agency_answered', 'voice_case_facts',
                    ['agency_id', 'answered_at'])
    op.create_index('ix_voice_cases_backlog', 'voice_cases',
                    ['state', 'calendar_version', 'agency_id', 'cycle_started_at',
                     'answer_due'])
    op.create_table(
        'voice_daily',
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('agency_id', _ID, nullable=False),
        sa.Column('category_id', _ID, nullable=False),
        sa.Column('channel', sa.String(length=10), nullable=False),
        sa.Column('case_type', sa.String(length=12), nullable=False),
        *(sa.Column(name, sa.Integer(), nullable=False) for name in _COUNTS),
        sa.PrimaryKeyConstraint('day', 'agency_id', 'category_id', 'channel', 'case_type',
                                name='pk_voice_daily'),
    )
    op.create_index('ix_voice_daily_agency', 'voice_daily', ['agency_id', 'day'])
    op.create_table(
        'voice_daily_specialists',
        sa.Column('agency_id', _ID, nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('user_id', _ID, nullable=False),
        sa.Column('received', sa.Integer(), nullable=False),
        sa.Column('answered', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('agency_id', 'day', 'user_id',
                                name='pk_voice_daily_specialists'),
    )
    op.create_table(
        'voice_backlog',
        sa.Column('agency_id', _ID, nullable=False),
        sa.Column('category_id', _ID, nullable=False),
        sa.Column('channel', sa.String(length=10), nullable=False),
        sa.Column('case_type', sa.String(length=12), nullable=False),
        *(sa.Column(name, sa.Integer(), nullable=False)
          for name in ('open', 'overdue', 'ageing_0_3', 'ageing_4_7', 'ageing_8_14',
                       'ageing_15_30', 'ageing_over_30')),
        sa.PrimaryKeyConstraint('agency_id', 'category_id', 'channel', 'case_type',
                                name='pk_voice_backlog'),
    )
    for table, first_day in (('voice_daily_times', 'day'), ('voice_weekly_times', 'week')):
        op.create_table(
            table,
            sa.Column(first_day, sa.Date(), nullable=False),
            sa.Column('agency_id', _ID, nullable=False),
            sa.Column('first_responses', sa.Integer(), nullable=False),
            sa.Column('answers', sa.Integer(), nullable=False),
            *(sa.Column(f'fr{index:03d}', sa.Integer(), nullable=False)
              for index in range(_BINS)),
            *(sa.Column(f'an{index:03d}', sa.Integer(), nullable=False)
              for index in range(_BINS)),
            sa.PrimaryKeyConstraint(first_day, 'agency_id', name=f'pk_{table}'),
        )
    op.execute("DELETE FROM dashboard_refreshes WHERE name = 'voice'")
    with op.batch_alter_table('dashboard_refreshes', schema=None) as batch_op:
        batch_op.add_column(sa.Column('full_pending', sa.Boolean(), nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('dashboard_refreshes', schema=None) as batch_op:
        batch_op.drop_column('full_pending')
    op.drop_table('voice_backlog')
    op.drop_table('voice_weekly_times')
    op.drop_table('voice_daily_times')
    op.drop_table('voice_daily_specialists')
    op.drop_index('ix_voice_daily_agency', table_name='voice_daily')
    op.drop_table('voice_daily')
    op.drop_index('ix_voice_cases_backlog', table_name='voice_cases')
    op.drop_index('ix_voice_case_facts_agency_answered', table_name='voice_case_facts')
    op.drop_index('ix_voice_case_facts_agency_acknowledged', table_name='voice_case_facts')
    op.drop_index('ix_voice_case_facts_agency_started', table_name='voice_case_facts')
    with op.batch_alter_table('voice_case_facts', schema=None) as batch_op:
        batch_op.drop_column('answer_bin')
        batch_op.drop_column('first_response_bin')
        for name in reversed(_DAYS):
            batch_op.drop_column(name)
