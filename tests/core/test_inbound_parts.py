"""Multi-part SMS kept in the database until whole: each part stored once, the message
stored from its parts in the transaction that brings the last one, an incomplete one
stored as it is once it has waited, a redelivered part never a second message."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy import text as sql

from channels.sms.inquiry import ShortCode
from core.messaging import parts as inbound_parts
from core.messaging.inbound import Inbound
from core.messaging.models import InboundMessage, InboundPart, Notification
from core.messaging.parts import Part
from core.platform.db import utcnow
from tests import factories as f

PHONE = "966551234567"  # f.MOBILE as an SMSC writes it
OTHER = "966501239876"
SHORT_CODE = "74747"
TIMEOUT = timedelta(minutes=5)


def assemble(parts: list[Part]) -> Inbound:
    """A joiner as an adapter gives one: UTF-16 parts decoded as one, a gap marked."""
    first = parts[0]
    text = b"".join(part.payload for part in parts).decode("utf-16-be", "replace")
    if len(parts) < first.total:
        text += " [missing]"
    return Inbound(sender=first.sender, recipient=first.recipient, text=text,
                   dedupe_key=f"test:{first.sender}:{text}")


def split(text: str, reference: int = 7, sender: str = PHONE, size: int = 10) -> list[Part]:
    chunks = [text[i:i + size] for i in range(0, len(text), size)]
    return [Part(sender, SHORT_CODE, reference, len(chunks), seq, chunk.encode("utf-16-be"), 8)
            for seq, chunk in enumerate(chunks, start=1)]


def receive(core, *parts: Part) -> int:
    return inbound_parts.receive_parts(core.db, core.config, list(parts), assemble)


def expire(core, after: timedelta = TIMEOUT + timedelta(seconds=1)) -> int:
    return inbound_parts.expire_parts(core.db, core.config, TIMEOUT, assemble,
                                    now=utcnow() + after)


def messages(core) -> list[tuple[str, str, str]]:
    with core.db.read() as session:
        return [(m.sender, m.text, m.status) for m in session.scalars(
            select(InboundMessage).order_by(InboundMessage.id))]


def stored_parts(core) -> list[InboundPart]:
    with core.db.read() as session:
        return list(session.scalars(select(InboundPart).order_by(InboundPart.id)))


TEXT = "استعلام رقم المعاملة ٤٤٧١٢٣٤"  # 3 parts of 10 characters


@pytest.mark.parametrize("order", [[0, 1, 2], [2, 0, 1], [1, 2, 0]])
def test_parts_in_any_order_make_one_message_when_the_last_comes(core, order):
    parts = split(TEXT)
    done = [receive(core, parts[index]) for index in order]

    assert done == [0, 0, 1]
    assert messages(core) == [(f.MOBILE_E164, TEXT, "received")]
    assert all(part.joined_at is not None for part in stored_parts(core))
    assert stored_parts(core)[0].recipient == SHORT_CODE


def test_a_burst_can_bring_several_messages_and_duplicates(core):
    mine, theirs = split(TEXT), split("ت" * 15, sender=OTHER)  # same reference

    assert receive(core, mine[0], theirs[1], mine[0], mine[1]) == 0
    assert receive(core, theirs[0], mine[2], mine[2]) == 2

    assert sorted(messages(core)) == sorted([(f.MOBILE_E164, TEXT, "received"),
                                             ("+" + OTHER, "ت" * 15, "received")])


def test_a_redelivered_part_changes_nothing_before_or_after_its_message(core):
    first, second, third = split(TEXT)
    receive(core, first)
    receive(core, first)
    assert [p.seq for p in stored_parts(core)] == [1]

    receive(core, second, third)
    assert receive(core, third) == 0 and receive(core, first) == 0  # the SMSC redelivers

    assert len(messages(core)) == 1
    assert all(part.joined_at is not None for part in stored_parts(core))
    assert expire(core, TIMEOUT / 2) == 0  # nothing waits: no stray fragment later
    assert len(messages(core)) == 1


def test_a_new_message_reusing_a_finished_reference_is_kept(core):
    receive(core, *split(TEXT))

    again = split("ب" * 30)  # same sender, reference and total; other bytes
    assert receive(core, again[0]) == 0
    assert receive(core, again[1], again[2]) == 1

    assert [text for _, text, _ in messages(core)] == [TEXT, "ب" * 30]


def test_an_incomplete_message_is_stored_as_it_is_once_it_has_waited(core):
    first, _, third = split(TEXT)
    receive(core, third, first)

    assert expire(core, TIMEOUT - timedelta(seconds=5)) == 0
    assert messages(core) == []
    assert expire(core) == 1

    assert messages(core) == [(f.MOBILE_E164, TEXT[:10] + TEXT[20:] + " [missing]",
                               "received")]
    assert expire(core) == 0  # stored once


def test_a_late_part_after_its_message_expired_is_a_message_of_its_own(core):
    first, second = split(TEXT[:20])
    receive(core, first)
    expire(core)

    receive(core, second)  # joined parts do not hold a different part back
    assert len(messages(core)) == 1
    assert expire(core) == 1
    assert [text for _, text, _ in messages(core)] == [
        TEXT[:10] + " [missing]", TEXT[10:20] + " [missing]"]


def test_joined_parts_are_forgotten_after_the_timeout(core):
    receive(core, *split(TEXT))

    expire(core, TIMEOUT * 2)

    assert stored_parts(core) == []
    assert len(messages(core)) == 1


def test_nothing_is_stored_when_the_transaction_fails(core):
    def broken(_parts):
        raise RuntimeError("the joiner failed")

    first, second = split(TEXT[:20])
    inbound_parts.receive_parts(core.db, core.config, [first], broken)
    with pytest.raises(RuntimeError):
        inbound_parts.receive_parts(core.db, core.config, [second], broken)

    assert [p.seq for p in stored_parts(core)] == [1] and messages(core) == []
    assert receive(core, second) == 1  # the redelivery completes it


def test_a_joined_message_is_answered_by_the_answering_pass(core):
    core.record_event(f.registered("4471234", "2026-11-23T09:15:00+03:00"))
    receive(core, *split(TEXT))

    assert ShortCode(core).answer_pending() == 1

    assert messages(core)[0][2] == "answered"
    with core.db.read() as session:
        [answer] = session.scalars(select(Notification).where(Notification.kind == "answer"))
    assert answer.body == "المعاملة رقم 4471234: مسجلة وقيد الإجراء"  # the joined text's
    assert answer.recipient == f.MOBILE_E164


def test_the_timeout_and_the_last_part_at_once_store_each_part_in_one_message(core):
    """The timeout's transaction holds the first part when the second comes: the second
    waits for it (PostgreSQL's row lock, SQLite's one writer) and then finds the first
    joined, so it waits alone instead of making a second copy of the message."""
    first, second = split(TEXT[:20])
    receive(core, first)
    cutoff = utcnow() + TIMEOUT
    with core.db.write_engine.begin() as timeout:
        [held] = inbound_parts._waiting(timeout, inbound_parts._OF_OVERDUE_MESSAGES,
                                      {"cutoff": cutoff})
        last_part = threading.Thread(target=receive, args=(core, second))
        last_part.start()
        if core.db.engine.dialect.name == "postgresql":
            _until_blocked(core)
        inbound_parts._join(timeout, core.config, [held], assemble, cutoff)
    last_part.join(30)

    assert not last_part.is_alive()
    assert [text for _, text, _ in messages(core)] == [TEXT[:10] + " [missing]"]
    assert [(p.seq, p.joined_at is None) for p in stored_parts(core)] == [(1, False),
                                                                          (2, True)]


def _until_blocked(core) -> None:
    """Wait until another session waits for a row lock (the race is on)."""
    deadline = time.monotonic() + 15
    with core.db.engine.connect() as connection:
        while not connection.execute(sql(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                " AND datname = current_database()")).scalar():
            assert time.monotonic() < deadline, "the last part never waited for the lock"
            time.sleep(0.01)
            connection.rollback()
