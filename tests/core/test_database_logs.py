"""What the database layer lets into a log: never a row's values. A refused statement's
error (its parameters, PostgreSQL's DETAIL line) and ``database.echo`` both name the
statement and hide what it carried."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError

from core.messaging.models import InboundPart
from core.platform.db import Database
from tests import factories as f

DIGITS = f.MOBILE_E164[4:]  # 551234567: the subscriber's part of the number
TEXT = "my national id is 1000000008"


def store_part(db: Database) -> None:
    with db.write.begin() as session:
        session.execute(insert(InboundPart).values(
            sender=f.MOBILE_E164, reference=7, total=2, seq=1, payload=TEXT.encode()))


def test_a_unique_violation_on_a_mobile_logs_none_of_its_digits(core, caplog):
    """Two stores of one SMS part, as two processes racing would do: the error is logged
    with its traceback, as every adapter's last-resort handler does."""
    store_part(core.db)
    log = logging.getLogger("gateway.test")
    with caplog.at_level(logging.INFO):
        with pytest.raises(IntegrityError) as refused:
            store_part(core.db)
        log.error("storing the part failed", exc_info=refused.value)

    assert "inbound_parts" in caplog.text  # the statement is named
    assert DIGITS not in caplog.text and TEXT not in caplog.text
    assert DIGITS not in str(refused.value) and DIGITS not in str(refused.value.orig)


def test_echo_logs_statements_without_their_parameters(database_url, caplog):
    database = Database(database_url, echo=True)
    try:
        with caplog.at_level(logging.INFO, logger="sqlalchemy.engine"):
            store_part(database)
    finally:
        with database.write.begin() as session:
            session.query(InboundPart).delete()
        database.dispose()

    assert "INSERT INTO inbound_parts" in caplog.text
    assert DIGITS not in caplog.text and TEXT not in caplog.text
