"""A read burst of SMS pays for its failure counters once: one read of every counter the
burst needs before its replies, and its failures written in the transaction that stores
the burst, with the same refusals as answering its messages one by one."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import pytest
from sqlalchemy import Connection, func, select

from core.messaging import inbound as inbound_store
from core.messaging.inbound import Inbound
from core.messaging.models import InboundMessage, Notification
from core.platform.ratelimit import DatabaseFailureCounts, FailureCounts
from core.transactions import render
from core.transactions.answer import Answer, Outcome
from core.transactions.inquiry import InquiryRequest, InquiryService
from tests import factories as f
from tests.channels.sms.test_inquiry import (  # noqa: F401  (fixtures)
    SHORT_CODE,
    UNKNOWN_NUMBER,
    answers,
    inbound,
    reference,
    registered,
    short_code,
)

BURST = 20  # messages, one in ten not found


class Spy:
    """The counters, counting what the inquiries ask of them."""

    def __init__(self, counts: FailureCounts) -> None:
        self.window = counts.window
        self._counts = counts
        self.reads: list[Sequence[str]] = []
        self.adds: list[list[str]] = []  # each one a transaction of its own
        self.adds_in: list[tuple[dict[str, int], int]] = []  # failures, rows seen stored

    def counts(self, keys: Sequence[str]) -> Mapping[str, int]:
        self.reads.append(list(keys))
        return self._counts.counts(keys)

    def add(self, keys: Iterable[str], *, durable: bool = True) -> None:
        self.adds.append(list(keys))
        self._counts.add(keys, durable=durable)

    def unwritten(self, keys: Sequence[str]) -> Mapping[str, int]:
        return self._counts.unwritten(keys)

    def flush(self) -> None:
        self._counts.flush()

    def add_in(self, connection: Connection, failures: Mapping[str, int]) -> None:
        # The inbound messages this transaction sees: the burst's, when it is the burst's.
        stored = connection.scalar(select(func.count()).select_from(InboundMessage))
        self.adds_in.append((dict(failures), int(stored or 0)))
        self._counts.add_in(connection, failures)


def in_order(answers: list[Notification]) -> list[str]:
    """The answers' bodies in their messages' order (the claimed ones are queued last)."""
    return [a.body for a in sorted(answers, key=lambda a: int(a.cause_key.split(":")[1]))]


def spy_on(core) -> Spy:
    spy = Spy(core.inquiries.limits.counts)
    core.inquiries.limits.counts = spy
    return spy


def senders(core, n: int) -> list[str]:
    """``n`` applicants, each with a transaction of their own; their mobiles (E.164)."""
    mobiles = []
    for k in range(n):
        core.record_event(f.registered(f"44{k:05d}", mobile=f"05500000{k:02d}",
                                       email=f"a{k}@example.com"))
        mobiles.append(f"+9665500000{k:02d}")
    return mobiles


def test_a_burst_reads_its_counters_once_and_writes_its_failures_with_itself(registered):  # noqa: F811
    # Before: each message read its counters (20 reads) and each failure wrote them in
    # a transaction of its own (2), before the burst's transaction stored the messages.
    mobiles = senders(registered, BURST)
    spy = spy_on(registered)
    burst = [Inbound(mobile, SHORT_CODE,
                     f"44{k:05d}" if k % 10 else UNKNOWN_NUMBER, f"burst-{k}")
             for k, mobile in enumerate(mobiles)]

    short_code(registered).receive_and_answer(burst, claim_limit=5)

    assert len(spy.reads) == 1 and spy.adds == []
    [(failures, stored)] = spy.adds_in
    assert sorted(failures.values()) == [1, 1] and stored == BURST
    bodies = [a.body for a in answers(registered)]
    not_found = render.not_found_text("ar")
    assert len(bodies) == BURST and bodies.count(not_found) == 2


def test_a_burst_refuses_at_exactly_the_limit_counting_its_own_failures(registered):  # noqa: F811
    # Failures before the burst (in the database) and within it (in memory) add up: the
    # mobile is refused from the message that would be its limit + 1st failure, as when
    # its messages are answered one by one.
    limit = registered.config.inquiry.max_failures
    before = 3
    for k in range(before):
        short_code(registered).reply(f.MOBILE_E164, f"{UNKNOWN_NUMBER[:-1]}{k}")
    spy = spy_on(registered)
    within = limit - before
    burst = [Inbound(f.MOBILE, SHORT_CODE, f"{UNKNOWN_NUMBER[:-1]}{k % 10}", f"b-{k}")
             for k in range(within + 2)]

    short_code(registered).receive_and_answer(burst, claim_limit=5)

    told = render.sms_text(Answer(Outcome.RATE_LIMITED), "ar", registered.config.tz)
    bodies = in_order(answers(registered))
    assert bodies == [render.not_found_text("ar")] * within + [told]
    assert [m.status for m in inbound(registered)][-1] == "ignored"  # told once
    assert len(spy.reads) == 1 and spy.adds == []
    assert [sorted(failures.values()) for failures, _ in spy.adds_in] == [[within]]
    # Written: the next inquiry is refused, in this process and in any other.
    request = InquiryRequest(channel="sms", number_text="4471234", mobile=f.MOBILE_E164,
                             origin=f.MOBILE_E164)
    other_process = InquiryService(registered.db, registered.config,
                                   registered.inquiry_log)
    assert other_process.inquire(request) == Answer(Outcome.RATE_LIMITED)


def test_a_burst_whose_store_fails_counts_no_failure(registered, monkeypatch):  # noqa: F811
    # The SMSC redelivers a burst that could not be stored: its failures count then,
    # once, not also for the burst that was lost.
    def broken(connection, rows, *, holder=None):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(inbound_store.outbox, "enqueue_claimed", broken)
    burst = [Inbound(f.MOBILE, SHORT_CODE, UNKNOWN_NUMBER, f"lost-{k}") for k in range(3)]
    with pytest.raises(RuntimeError):
        short_code(registered).receive_and_answer(burst, claim_limit=5)
    monkeypatch.undo()
    limit = registered.config.inquiry.max_failures
    for k in range(limit):
        assert short_code(registered).reply(f.MOBILE_E164, UNKNOWN_NUMBER).body == (
            render.not_found_text("ar")), k


def test_a_burst_adds_its_failures_at_once_and_a_passed_window_starts_again(core, clock):
    # What a burst writes: several failures of one key in one upsert, on top of the
    # window's count, or starting a new window at them when the old one has passed.
    counts = DatabaseFailureCounts(core.db, 60, clock=clock)
    counts.add(["a", "b"])
    with core.db.write_engine.begin() as connection:
        counts.add_in(connection, {"a": 3, "c": 2, "d": 0})
    assert counts.counts(["a", "b", "c", "d"]) == {"a": 4, "b": 1, "c": 2}

    clock.now += 61
    with core.db.write_engine.begin() as connection:
        counts.add_in(connection, {"a": 5})
    assert counts.counts(["a", "b", "c"]) == {"a": 5}


def test_a_burst_looks_its_numbers_up_in_one_statement_answering_as_one_by_one(
        registered, monkeypatch):  # noqa: F811
    # Owners asking their own, strangers asking another's, numbers that do not exist,
    # one number asked twice: one lookup for the burst, each answer as if asked alone.
    from channels.sms.inquiry import ShortCode
    from core.transactions.inquiry import CompiledLookup

    mobiles = senders(registered, BURST)
    texts = [f"44{k:05d}" if k % 3 == 0 else f"44{(k + 1) % BURST:05d}" if k % 3 == 1
             else UNKNOWN_NUMBER for k in range(BURST)]
    looked_up: list[str] = []
    many, one = CompiledLookup.many, CompiledLookup.__call__
    monkeypatch.setattr(CompiledLookup, "many", lambda self, numbers, engine=None: (
        looked_up.append(f"many:{len(numbers)}"), many(self, numbers, engine))[1])
    monkeypatch.setattr(CompiledLookup, "__call__", lambda self, number, engine=None: (
        looked_up.append("one"), one(self, number, engine))[1])

    short_code(registered).receive_and_answer(
        [Inbound(mobile, SHORT_CODE, text, f"one-statement-{k}")
         for k, (mobile, text) in enumerate(zip(mobiles, texts, strict=True))],
        claim_limit=BURST)

    assert looked_up == [f"many:{len(set(texts))}"]
    not_found = render.not_found_text("ar")
    got = in_order(answers(registered))
    for k, (mobile, text, body) in enumerate(zip(mobiles, texts, got, strict=True)):
        if k % 3:
            assert body == not_found
        else:  # the owner's status, word for word what a message on its own gets
            alone = ShortCode(registered).reply(mobile, text)
            assert body == alone.body != not_found
