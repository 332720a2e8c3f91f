"""voice cases: the text folded for similar cases (pg_trgm on PostgreSQL), and the
received-date index Open311's listing reads

Revision ID: b6e4d2f8a915
Revises: b6e2d4f8a913
Create Date: 2026-12-05 04:30:00

"""
from __future__ import annotations

import logging

import sqlalchemy as sa
from alembic import op
from sqlalchemy.exc import DBAPIError

from core.identity.arabic import fold

revision = 'b6e4d2f8a915'
down_revision = 'b6e2d4f8a913'
branch_labels = None
depends_on = None

log = logging.getLogger(__name__)
BATCH = 1000
# core.voice.similar.MATCHED when this was written: the folded text's first characters.
MATCHED = 1000


def upgrade() -> None:
    with op.batch_alter_table('voice_cases', schema=None) as batch_op:
        batch_op.add_column(sa.Column('text_folded', sa.Text(), nullable=True))
        batch_op.create_index('ix_voice_cases_received', ['received_at', 'id'], unique=False)
    _fold_existing()
    if op.get_bind().dialect.name == 'postgresql':
        _trigram_index()


def _fold_existing() -> None:
    """Fold the texts of the cases filed before, a batch at a time (by id)."""
    bind = op.get_bind()
    cases = sa.table('voice_cases', sa.column('id', sa.BigInteger),
                     sa.column('text', sa.Text), sa.column('text_folded', sa.Text))
    last = 0
    while True:
        rows = bind.execute(sa.select(cases.c.id, cases.c.text).where(cases.c.id > last)
                            .order_by(cases.c.id).limit(BATCH)).all()
        if not rows:
            return
        for row in rows:
            bind.execute(cases.update().where(cases.c.id == row.id)
                         .values(text_folded=fold(row.text)[:MATCHED]))
        last = rows[-1].id


def _trigram_index() -> None:
    """pg_trgm's GIN index on the folded text, where the extension is there or may be
    created (a role without the right: similar cases are then found in Python)."""
    bind = op.get_bind()
    savepoint = bind.begin_nested()
    try:
        bind.exec_driver_sql('CREATE EXTENSION IF NOT EXISTS pg_trgm')
    except DBAPIError:
        savepoint.rollback()
        log.warning('pg_trgm cannot be created here: similar cases are found without '
                    'its index (ask the database administrator to create the extension)')
        return
    savepoint.commit()
    op.create_index('ix_voice_cases_text_trgm', 'voice_cases', ['text_folded'],
                    postgresql_using='gin', postgresql_ops={'text_folded': 'gin_trgm_ops'})


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('DROP INDEX IF EXISTS ix_voice_cases_text_trgm')
    # Not in batch mode: SQLite (3.35 on) drops a column in place, where a batch would
    # copy the table, which the cases' events and answers refer to.
    op.drop_index('ix_voice_cases_received', table_name='voice_cases')
    op.drop_column('voice_cases', 'text_folded')
