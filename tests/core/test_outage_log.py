"""A loop that retries on its own says the database is away once a minute, not once a
try, and every other failure with its traceback (core/platform/faults.py ``Outage``)."""

from __future__ import annotations

import logging

from sqlalchemy.exc import OperationalError

from core.platform.faults import Outage

AWAY = OperationalError("SELECT 1", {}, ConnectionRefusedError("connection refused"))


def test_an_outage_is_said_when_it_begins_once_a_minute_and_when_it_ends(caplog, clock):
    outage = Outage(logging.getLogger("test.outage"), "the pass", clock=clock)
    with caplog.at_level(logging.WARNING, "test.outage"):
        for _ in range(119):  # two minutes of one try a second
            outage.failed(AWAY)
            clock.now += 1
        outage.succeeded()
        outage.succeeded()  # nothing more to say
    messages = [record.getMessage() for record in caplog.records]
    assert messages == [
        "the pass: the database is away (OperationalError); trying again",
        "the pass: the database is still away (61 tries failed in 60 s)",
        "the pass: the database is back after 119 s (119 tries failed)",
    ]
    # Nothing the driver said (it may quote a row), and no traceback per try.
    assert not any(record.exc_info for record in caplog.records)
    assert "refused" not in " ".join(messages)


def test_a_failure_that_is_not_the_database_is_logged_with_its_traceback_each_time(
        caplog, clock):
    outage = Outage(logging.getLogger("test.outage"), "the pass", clock=clock)
    with caplog.at_level(logging.WARNING, "test.outage"):
        for _ in range(3):
            try:
                raise KeyError("a bug")
            except KeyError as exc:
                outage.failed(exc)
    assert [record.getMessage() for record in caplog.records] == ["the pass failed"] * 3
    assert all(record.exc_info and record.exc_info[0] is KeyError
               for record in caplog.records)


def test_an_outage_seen_through_a_wrapped_exception_is_still_the_database(caplog, clock):
    outage = Outage(logging.getLogger("test.outage"), "the pass", clock=clock)
    with caplog.at_level(logging.WARNING, "test.outage"):
        try:
            try:
                raise AWAY
            except OperationalError as away:
                raise RuntimeError("could not claim") from away
        except RuntimeError as exc:
            outage.failed(exc)
            outage.failed(exc)
    assert len(caplog.records) == 1
    assert "away" in caplog.records[0].getMessage()


def test_failures_far_apart_are_two_outages_not_one(caplog, clock):
    # The SMS loop says "succeeded" only after a pass that did work: an outage can end
    # unseen. A failure long after the last one begins another.
    outage = Outage(logging.getLogger("test.outage"), "the pass", clock=clock)
    with caplog.at_level(logging.WARNING, "test.outage"):
        outage.failed(AWAY)
        clock.now += 3600
        outage.failed(AWAY)
    assert [record.getMessage() for record in caplog.records] == [
        "the pass: the database is away (OperationalError); trying again"] * 2
