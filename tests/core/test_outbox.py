"""The outbox as a sender sees it: claiming due work, recording outcomes, recovery, expiry.

Runs on SQLite and, with GATEWAY_TEST_DATABASE_URL, on PostgreSQL, where claimers share the
queue with ``FOR UPDATE SKIP LOCKED``.
"""

from __future__ import annotations

import socket
import threading
from datetime import timedelta

import pytest

from core.messaging import outbox
from core.messaging.models import Notification, NotificationStatus
from core.platform.db import Database, utcnow
from tests import factories as f
from tests.core.test_leases import holder_of_an_exited_process

NOW = utcnow()
MOBILE = "966551234567"


def add(core, key: str, *, priority: int | None = None, audience: str = "citizen",
        channel: str = "sms", not_before=None, created_at=None) -> int:
    """One outbox row, due a minute before NOW unless told otherwise; its id."""
    with core.db.write.begin() as session:
        row = outbox.enqueue(
            session, cause_key=key, kind="test", audience=audience, recipient=MOBILE,
            language="ar", body=f"رسالة {key}", channel=channel, priority=priority,
            not_before=not_before or NOW - timedelta(minutes=1))
        if created_at is not None:
            row.created_at = created_at
        session.flush()
        return row.id


def claim_ids(core, **kwargs) -> list[int]:
    kwargs.setdefault("now", NOW)
    return [c.id for c in outbox.claim_due(core.db, **kwargs)]


def row(core, notification_id: int) -> Notification:
    with core.db.read() as session:
        return session.get(Notification, notification_id)


def sent(core, key: str, provider_ids: list[str]) -> int:
    """A message claimed and accepted by the SMSC under ``provider_ids``."""
    notification_id = add(core, key)
    assert claim_ids(core) == [notification_id]
    assert outbox.mark_sent(core.db, notification_id, provider_ids, now=NOW)
    return notification_id


def test_inquiry_answers_are_claimed_before_notifications_then_oldest_first(core):
    citizen_1 = add(core, "c1")
    staff = add(core, "s1", audience="staff")
    answer_1 = add(core, "a1", priority=outbox.PRIORITY_ANSWER)
    citizen_2 = add(core, "c2")
    answer_2 = add(core, "a2", priority=outbox.PRIORITY_ANSWER)

    assert claim_ids(core, limit=3) == [answer_1, answer_2, staff]
    assert claim_ids(core, limit=3) == [citizen_1, citizen_2]


def test_a_claim_marks_the_row_sending_counts_the_attempt_and_returns_the_message(core):
    notification_id = add(core, "c1")

    [claimed] = outbox.claim_due(core.db, now=NOW)

    assert claimed == outbox.Claimed(
        id=notification_id, recipient=MOBILE, body="رسالة c1", language="ar", kind="test",
        audience="citizen", priority=outbox.PRIORITY_CITIZEN, attempts=1)
    stored = row(core, notification_id)
    assert (stored.status, stored.claimed_at, stored.attempts) == (
        NotificationStatus.SENDING, NOW, 1)


def test_a_message_is_not_claimed_before_its_not_before(core):
    held = add(core, "held", not_before=NOW + timedelta(hours=1))
    due = add(core, "due", not_before=NOW)

    assert claim_ids(core) == [due]
    assert claim_ids(core, now=NOW + timedelta(minutes=59)) == []
    assert claim_ids(core, now=NOW + timedelta(hours=1)) == [held]


def test_claimed_messages_are_not_claimed_again(core):
    first = add(core, "c1")
    assert claim_ids(core) == [first]
    second = add(core, "c2")

    assert claim_ids(core) == [second]
    assert claim_ids(core, now=NOW + timedelta(days=1)) == []


def test_a_claim_takes_only_its_channel_and_audience(core):
    staff = add(core, "s1", audience="staff")
    citizen = add(core, "c1")
    email = add(core, "e1", channel="email")

    assert claim_ids(core, audience="staff") == [staff]
    assert claim_ids(core, channel="email") == [email]
    assert claim_ids(core) == [citizen]


def test_a_registration_sms_written_with_its_event_is_claimed_from_the_outbox(core):
    core.record_event(f.registered())

    [claimed] = outbox.claim_due(core.db)

    assert (claimed.kind, claimed.audience) == ("registration", "citizen")
    assert claimed.recipient.endswith("551234567")


def test_concurrent_claimers_share_the_queue_without_overlap(core, database_url):
    ids = {add(core, f"c{n}") for n in range(120)}
    claimers = 4
    start = threading.Barrier(claimers)
    taken: list[list[int]] = [[] for _ in range(claimers)]
    errors: list[BaseException] = []

    def claimer(slot: int) -> None:
        db = Database(database_url)  # an engine of its own, as another process would have
        try:
            start.wait()
            while batch := outbox.claim_due(db, limit=5, now=NOW):
                taken[slot].extend(c.id for c in batch)
        except BaseException as exc:  # reported below, not lost in the thread
            errors.append(exc)
        finally:
            db.dispose()

    threads = [threading.Thread(target=claimer, args=(n,)) for n in range(claimers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    assert errors == []
    every_claim = [i for batch in taken for i in batch]
    assert len(every_claim) == len(set(every_claim)), "a message was claimed twice"
    assert set(every_claim) == ids


def test_an_open_claim_leaves_its_rows_to_no_one_else(core, database_url):
    ids = [add(core, f"c{n}") for n in range(4)]
    other = Database(database_url)
    result: list[list[int]] = []
    second = threading.Thread(
        target=lambda: result.append([c.id for c in outbox.claim_due(other, limit=2, now=NOW)]))
    try:
        with core.db.write.begin() as session:
            first = [c.id for c in outbox.claim(session, limit=2, now=NOW)]
            second.start()
            second.join(0.5 if core.db.is_sqlite else 10)
            if core.db.is_sqlite:
                # BEGIN IMMEDIATE: the second claimer waits for the first to commit.
                assert second.is_alive()
            else:
                # SKIP LOCKED: the second claimer takes the next rows at once.
                assert not second.is_alive()
        second.join(10)
    finally:
        other.dispose()

    assert first == ids[:2]
    assert result == [ids[2:]]


def test_a_retry_keeps_its_place_ahead_of_later_messages(core):
    first, second, third = (add(core, f"c{n}") for n in range(3))
    assert claim_ids(core, limit=1) == [first]
    retry_at = NOW + timedelta(seconds=10)

    assert outbox.mark_retry(core.db, first, "ESME_RTHROTTLED", retry_at)

    assert claim_ids(core, limit=1) == [second]  # not due yet: the queue moves on
    assert claim_ids(core, now=retry_at) == [first, third]
    stored = row(core, first)
    assert (stored.attempts, stored.not_before, stored.last_error) == (
        2, retry_at, "ESME_RTHROTTLED")


def test_a_failed_message_is_final(core):
    notification_id = add(core, "c1")
    claim_ids(core)

    assert outbox.mark_failed(core.db, notification_id, "ESME_RINVDSTADR: bad number")

    later = NOW + timedelta(days=2)
    assert claim_ids(core, now=later) == []
    assert outbox.recover_stale_claims(core.db, timedelta(minutes=5), now=later) == 0
    assert outbox.expire_undeliverable(core.db, timedelta(hours=24), now=later) == 0
    assert not outbox.mark_retry(core.db, notification_id, "again", later)
    assert not outbox.mark_sent(core.db, notification_id, ["x1"])
    assert not outbox.mark_failed(core.db, notification_id, "another reason")
    stored = row(core, notification_id)
    assert (stored.status, stored.last_error, stored.provider_message_id) == (
        NotificationStatus.FAILED, "ESME_RINVDSTADR: bad number", None)


def test_sent_records_every_segment_id_joined_with_a_space(core):
    notification_id = sent(core, "c1", ["5A01", "5A02", "5A03"])

    stored = row(core, notification_id)
    assert (stored.status, stored.sent_at, stored.provider_message_id) == (
        NotificationStatus.SENT, NOW, "5A01 5A02 5A03")


def test_segment_ids_that_do_not_fit_the_column_are_dropped_from_the_end():
    ids = [f"{n:064d}" for n in range(3)]

    assert outbox.join_provider_ids(ids) == ids[0]
    assert outbox.join_provider_ids(["a", "b"]) == "a b"
    with pytest.raises(ValueError):
        outbox.join_provider_ids([])
    with pytest.raises(ValueError):
        outbox.join_provider_ids(["a b"])


def test_a_receipt_for_the_first_segment_marks_the_message_delivered(core):
    notification_id = sent(core, "c1", ["5A01", "5A02"])
    at = NOW + timedelta(seconds=7)

    assert not outbox.mark_delivered(core.db, "5A02", at, NotificationStatus.DELIVERED)
    assert outbox.mark_delivered(core.db, "5A01", at, NotificationStatus.DELIVERED)

    stored = row(core, notification_id)
    assert (stored.status, stored.delivered_at) == (NotificationStatus.DELIVERED, at)


def test_a_receipt_for_a_single_segment_message_marks_it_delivered(core):
    notification_id = sent(core, "c1", ["77"])

    assert outbox.mark_delivered(core.db, "77", NOW, NotificationStatus.DELIVERED)
    assert row(core, notification_id).status == NotificationStatus.DELIVERED


@pytest.mark.parametrize("near_miss", ["ab12", "0AB12", "AB1", "AB12 ", "AB%", "AB_2", ""])
def test_a_receipt_matches_the_provider_id_exactly(core, near_miss):
    notification_id = sent(core, "c1", ["AB12", "CD34"])

    assert not outbox.mark_delivered(core.db, near_miss, NOW, NotificationStatus.DELIVERED)
    assert row(core, notification_id).status == NotificationStatus.SENT


def test_a_receipt_for_an_unknown_id_changes_nothing(core):
    ids = [sent(core, "c1", ["11"]), add(core, "c2")]
    before = [vars_of(row(core, i)) for i in ids]

    assert not outbox.mark_delivered(core.db, "99", NOW, NotificationStatus.DELIVERED)

    assert [vars_of(row(core, i)) for i in ids] == before


def vars_of(notification: Notification) -> dict:
    return {c.key: getattr(notification, c.key) for c in Notification.__table__.columns}


def test_a_failed_receipt_makes_the_message_failed_with_the_reason(core):
    notification_id = sent(core, "c1", ["11"])

    assert outbox.mark_delivered(core.db, "11", NOW, NotificationStatus.FAILED,
                                 reason="stat:UNDELIV err:001")

    stored = row(core, notification_id)
    assert (stored.status, stored.last_error, stored.delivered_at) == (
        NotificationStatus.FAILED, "stat:UNDELIV err:001", None)


def test_a_duplicate_receipt_changes_nothing(core):
    notification_id = sent(core, "c1", ["11"])
    assert outbox.mark_delivered(core.db, "11", NOW, NotificationStatus.DELIVERED)

    assert not outbox.mark_delivered(core.db, "11", NOW + timedelta(minutes=1),
                                     NotificationStatus.FAILED, reason="late")

    stored = row(core, notification_id)
    assert (stored.status, stored.delivered_at, stored.last_error) == (
        NotificationStatus.DELIVERED, NOW, None)


def test_a_receipt_ends_only_in_delivered_or_failed(core):
    sent(core, "c1", ["11"])

    with pytest.raises(ValueError):
        outbox.mark_delivered(core.db, "11", NOW, NotificationStatus.PENDING)


def test_stale_claims_go_back_to_the_queue_once(core):
    stale = add(core, "c1")
    fresh = add(core, "c2")
    assert claim_ids(core, limit=1) == [stale]
    assert claim_ids(core, limit=1, now=NOW + timedelta(minutes=4)) == [fresh]
    later = NOW + timedelta(minutes=6)

    assert outbox.recover_stale_claims(core.db, timedelta(minutes=5), now=later) == 1
    assert outbox.recover_stale_claims(core.db, timedelta(minutes=5), now=later) == 0

    assert row(core, fresh).status == NotificationStatus.SENDING
    recovered = row(core, stale)
    assert (recovered.status, recovered.claimed_at) == (NotificationStatus.PENDING, None)
    assert "claim expired" in recovered.last_error
    [again] = outbox.claim_due(core.db, now=later)
    assert (again.id, again.attempts) == (stale, 2)


def test_the_stale_claim_age_takes_only_claims_that_name_no_holder(core):
    # A live holder's claim older than the stale age (its clock ahead of ours, or a claim
    # held long) stays: only its stopped heartbeat gives it back.
    from core.platform import leases

    live = "sms@ahead:4:live"
    leases.acquire(core.db, f"sms:{live}", live, timedelta(seconds=90))
    held, unnamed = add(core, "held"), add(core, "unnamed")
    outbox.claim_due(core.db, limit=1, holder=live, now=NOW)
    outbox.claim_due(core.db, limit=1, now=NOW)
    later = NOW + timedelta(minutes=6)

    assert outbox.recover_stale_claims(core.db, timedelta(minutes=5), now=later) == 1

    assert (row(core, held).status, row(core, held).claimed_by) == (
        NotificationStatus.SENDING, live)
    assert row(core, unnamed).status == NotificationStatus.PENDING


@pytest.mark.parametrize("ending", ["sent", "sent_many", "retry", "failed"])
def test_a_sender_whose_claim_was_recovered_cannot_end_the_new_claim(core, ending):
    message_id = add(core, "c1")
    [first] = outbox.claim_due(core.db, now=NOW)
    later = NOW + timedelta(minutes=6)
    assert outbox.recover_stale_claims(core.db, timedelta(minutes=5), now=later) == 1
    [second] = outbox.claim_due(core.db, now=later)
    assert second.attempts == first.attempts + 1

    # The first sender wakes up and records its outcome under its own, older, claim.
    late = {
        "sent": lambda: outbox.mark_sent(core.db, message_id, ["OLD"], attempt=first.attempts),
        "sent_many": lambda: outbox.mark_sent_many(
            core.db, [(message_id, ["OLD"], first.attempts)]),
        "retry": lambda: outbox.mark_retry(core.db, message_id, "late", later,
                                           attempt=first.attempts),
        "failed": lambda: outbox.mark_failed(core.db, message_id, "late",
                                             attempt=first.attempts),
    }[ending]
    assert not late()
    assert row(core, message_id).status == NotificationStatus.SENDING

    assert outbox.mark_sent_many(core.db, [(message_id, ["NEW"], second.attempts)]) == 1
    done = row(core, message_id)
    assert (done.status, done.provider_message_id) == (NotificationStatus.SENT, "NEW")


def test_pending_messages_older_than_the_limit_expire_with_the_reason(core):
    old = add(core, "old", created_at=NOW - timedelta(hours=25))
    new = add(core, "new", created_at=NOW - timedelta(hours=23))
    in_flight = add(core, "in-flight", created_at=NOW - timedelta(hours=30),
                    priority=outbox.PRIORITY_ANSWER)
    assert claim_ids(core, limit=1) == [in_flight]

    assert outbox.expire_undeliverable(core.db, timedelta(hours=24), now=NOW) == 1
    assert outbox.expire_undeliverable(core.db, timedelta(hours=24), now=NOW) == 0

    expired = row(core, old)
    assert expired.status == NotificationStatus.EXPIRED
    assert "not sent within 1 day" in expired.last_error
    assert row(core, in_flight).status == NotificationStatus.SENDING
    assert claim_ids(core) == [new]


def test_outcomes_for_a_message_not_being_sent_change_nothing(core):
    pending = add(core, "c1")
    before = vars_of(row(core, pending))

    assert not outbox.mark_sent(core.db, pending, ["1"])
    assert not outbox.mark_retry(core.db, pending, "throttled", NOW + timedelta(hours=1))
    assert not outbox.mark_failed(core.db, pending, "bad number")
    assert not outbox.mark_sent(core.db, 999_999, ["1"])
    assert vars_of(row(core, pending)) == before


def test_outcomes_for_a_message_already_sent_change_nothing(core):
    notification_id = sent(core, "c1", ["11"])
    before = vars_of(row(core, notification_id))

    assert not outbox.mark_sent(core.db, notification_id, ["12"])
    assert not outbox.mark_retry(core.db, notification_id, "late", NOW + timedelta(hours=1))
    assert not outbox.mark_failed(core.db, notification_id, "late")
    assert outbox.recover_stale_claims(core.db, timedelta(0), now=NOW + timedelta(days=1)) == 0
    assert vars_of(row(core, notification_id)) == before


def test_a_round_is_marked_sent_in_one_call_and_only_rows_still_sending_change(core):
    first, second, already = add(core, "r1"), add(core, "r2"), add(core, "r3")
    claim_ids(core)
    outbox.mark_sent(core.db, already, ["9"], now=NOW)

    changed = outbox.mark_sent_many(core.db, [(first, ["11"]), (second, ["12", "13"]),
                                              (already, ["99"])], now=NOW)

    assert changed == 2
    assert [(row(core, i).status, row(core, i).provider_message_id)
            for i in (first, second, already)] == [
        (NotificationStatus.SENT, "11"), (NotificationStatus.SENT, "12 13"),
        (NotificationStatus.SENT, "9")]


# --- receipts: the exact id wins, other readings only when it names nothing ------------


def receipt(ids: tuple[str, ...], status=NotificationStatus.DELIVERED, **kwargs):
    return outbox.Receipt(ids, NOW, status, **kwargs)


def test_a_repeated_receipt_whose_exact_id_is_delivered_never_fails_another_message(core):
    # A had 41459 and is delivered; B had 267353 (41459 read as hex) and is sent. A's
    # receipt again, UNDELIV this time: it is A's, and B stays sent.
    a = sent(core, "a", ["41459"])
    b = sent(core, "b", ["267353"])
    assert outbox.mark_delivered(core.db, "41459", NOW, NotificationStatus.DELIVERED)

    [applied] = outbox.mark_delivered_many(core.db, [receipt(
        ("41459", "267353", "a1f3"), NotificationStatus.FAILED, reason="UNDELIV")])

    assert applied is outbox.Applied.FINAL
    assert row(core, a).status == NotificationStatus.DELIVERED
    assert (row(core, b).status, row(core, b).last_error) == (NotificationStatus.SENT, None)


def test_another_reading_of_the_id_matches_only_when_the_exact_id_names_nothing(core):
    hex_id = sent(core, "hex", ["a1f3"])

    assert outbox.mark_delivered_many(core.db, [receipt(("41459", "a1f3"))]) == [
        outbox.Applied.CHANGED]
    assert row(core, hex_id).status == NotificationStatus.DELIVERED
    # The exact id alone (the adapter holds the other readings back): nothing matches.
    assert outbox.mark_delivered_many(core.db, [receipt(("41459",))]) == [
        outbox.Applied.UNMATCHED]


def test_two_messages_matching_other_readings_leave_the_receipt_unmatched(core):
    first, second = sent(core, "x", ["a1f3"]), sent(core, "y", ["267353"])

    assert outbox.mark_delivered_many(core.db, [receipt(("41459", "267353", "a1f3"))]) == [
        outbox.Applied.UNMATCHED]
    assert {row(core, first).status, row(core, second).status} == {NotificationStatus.SENT}


def test_a_failed_receipt_for_a_later_part_fails_the_delivered_message(core):
    message = sent(core, "long", ["5A01", "5A02"])
    assert outbox.mark_delivered(core.db, "5A01", NOW, NotificationStatus.DELIVERED)

    delivered_part = receipt((), part_of=message)
    failed_part = receipt((), NotificationStatus.FAILED, part_of=message,
                          reason="delivery receipt for part 2: UNDELIV err:001")
    assert outbox.mark_delivered_many(core.db, [delivered_part, failed_part]) == [
        outbox.Applied.FINAL, outbox.Applied.CHANGED]

    stored = row(core, message)
    assert (stored.status, stored.last_error, stored.delivered_at) == (
        NotificationStatus.FAILED, "delivery receipt for part 2: UNDELIV err:001", None)


def test_sent_clears_the_last_attempts_error_and_keeps_the_count(core):
    message = add(core, "c1")
    [first] = outbox.claim_due(core.db, now=NOW)
    outbox.mark_retry(core.db, message, "ESME_RTHROTTLED (0x58)", NOW, attempt=1)
    [second] = outbox.claim_due(core.db, now=NOW)

    assert outbox.mark_sent_many(core.db, [(message, ["7", "8"], second.attempts)]) == 1

    stored = row(core, message)
    assert (stored.status, stored.attempts, stored.last_error, stored.receipt_id) == (
        NotificationStatus.SENT, 2, None, "7")


# --- claims given back: untried, or held by a sender whose heartbeat stopped ------------


def test_an_untried_claim_goes_back_due_now_without_counting_an_attempt(core):
    message = add(core, "c1", not_before=NOW - timedelta(minutes=1))
    [claimed] = outbox.claim_due(core.db, now=NOW)
    assert claimed.attempts == 1

    assert outbox.mark_unsent(core.db, message, attempt=claimed.attempts)
    assert not outbox.mark_unsent(core.db, message, attempt=claimed.attempts)

    stored = row(core, message)
    assert (stored.status, stored.attempts, stored.claimed_by) == (
        NotificationStatus.PENDING, 0, None)
    assert stored.not_before <= utcnow()
    [again] = outbox.claim_due(core.db)
    assert again.attempts == 1


class Clock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_claims_of_a_holder_whose_heartbeat_stopped_go_back_and_a_live_holders_stay(core):
    from core.platform import leases

    dead, live = "sms@a:1:dead", "sms@b:2:live"
    lifetime = timedelta(seconds=90)
    leases.acquire(core.db, f"sms:{dead}", dead, lifetime, now=NOW - timedelta(minutes=1))
    leases.acquire(core.db, f"sms:{live}", live, lifetime)
    ids = [add(core, f"c{k}") for k in range(4)]
    outbox.claim_due(core.db, limit=1, holder=dead)
    outbox.claim_due(core.db, limit=1, holder=live)
    outbox.claim_due(core.db, limit=1, holder="sms@c:3:gone")  # released: no lease row
    outbox.claim_due(core.db, limit=1)  # no holder: only the stale-claim age applies
    clock = Clock()
    heartbeats = outbox.Heartbeats("sms:", clock=clock)

    # First sight: nothing goes back, not even the claim without a heartbeat (its sender
    # may be writing its heartbeat right now); at the next look, still without one, it does.
    assert outbox.recover_claims_of_stopped_holders(core.db, heartbeats, channel="sms") == 0
    clock.now += 60
    leases.renew(core.db, f"sms:{live}", live, lifetime)  # the live one beats on
    assert outbox.recover_claims_of_stopped_holders(core.db, heartbeats, channel="sms") == 1
    assert outbox.recover_claims_of_stopped_holders(core.db, heartbeats, channel="sms") == 0
    clock.now += 31  # the dead one's row unchanged for its lifetime, on our clock
    assert outbox.recover_claims_of_stopped_holders(core.db, heartbeats, channel="sms") == 1
    assert outbox.recover_claims_of_stopped_holders(core.db, heartbeats, channel="sms") == 0

    statuses = [(row(core, i).status, row(core, i).claimed_by) for i in ids]
    assert statuses == [(NotificationStatus.PENDING, None), (NotificationStatus.SENDING, live),
                        (NotificationStatus.PENDING, None), (NotificationStatus.SENDING, None)]
    assert "heartbeat stopped" in row(core, ids[0]).last_error


def test_a_live_holders_claims_stay_whatever_its_clock_says(core):
    # The holder's clock is two hours behind ours: by our clock its heartbeat expired long
    # ago, yet it renews on time, so its claims in flight are never taken.
    from core.platform import leases

    behind = "sms@far:7:skewed"
    lifetime = timedelta(seconds=90)
    [message] = [add(core, "skewed")]
    leases.acquire(core.db, f"sms:{behind}", behind, lifetime,
                   now=utcnow() - timedelta(hours=2))
    outbox.claim_due(core.db, limit=1, holder=behind)
    clock = Clock()
    heartbeats = outbox.Heartbeats("sms:", clock=clock)
    for beat in range(1, 30):  # five minutes of renewals every 10 s
        assert outbox.recover_claims_of_stopped_holders(
            core.db, heartbeats, channel="sms") == 0
        clock.now += 10
        leases.renew(core.db, f"sms:{behind}", behind, lifetime,
                     now=utcnow() - timedelta(hours=2) + beat * timedelta(seconds=10))
    assert row(core, message).status == NotificationStatus.SENDING

    # Its renewals stop: its claims go back once the row stood still for its lifetime.
    assert outbox.recover_claims_of_stopped_holders(core.db, heartbeats, channel="sms") == 0
    clock.now += 89
    assert outbox.recover_claims_of_stopped_holders(core.db, heartbeats, channel="sms") == 0
    clock.now += 1
    assert outbox.recover_claims_of_stopped_holders(core.db, heartbeats, channel="sms") == 1
    assert row(core, message).status == NotificationStatus.PENDING


def test_the_claims_of_a_crashed_process_of_this_machine_go_back_at_once(core):
    from core.platform import leases

    crashed = holder_of_an_exited_process(component="sms")
    assert crashed.startswith(f"sms@{socket.gethostname()}:")
    leases.acquire(core.db, f"sms:{crashed}", crashed, timedelta(seconds=90))
    [message] = [add(core, "crashed")]
    outbox.claim_due(core.db, limit=1, holder=crashed)

    heartbeats = outbox.Heartbeats("sms:", clock=Clock())
    assert outbox.recover_claims_of_stopped_holders(core.db, heartbeats, channel="sms") == 1
    assert row(core, message).status == NotificationStatus.PENDING


def test_a_sender_seen_with_claims_before_its_heartbeat_keeps_them(core):
    # On PostgreSQL the claims are read in a later snapshot than the heartbeats: a sender
    # that wrote its heartbeat, then claimed, in between shows claims and no heartbeat.
    from core.platform import leases

    starting = "sms@d:4:starting"
    [message] = [add(core, "starting")]
    outbox.claim_due(core.db, limit=1, holder=starting)
    clock = Clock()
    heartbeats = outbox.Heartbeats("sms:", clock=clock)
    assert outbox.recover_claims_of_stopped_holders(core.db, heartbeats, channel="sms") == 0
    leases.acquire(core.db, f"sms:{starting}", starting, timedelta(seconds=90))
    clock.now += 10
    assert outbox.recover_claims_of_stopped_holders(core.db, heartbeats, channel="sms") == 0
    assert row(core, message).status == NotificationStatus.SENDING


class RenewedMeanwhile(outbox.Heartbeats):
    """Heartbeats that, once ``renewed`` is set, are handed the rows of their first read:
    as if a renewal committed after the recoverer read the rows (on PostgreSQL; SQLite
    serializes writers, so a test cannot interleave one there)."""

    def __init__(self, clock: Clock) -> None:
        super().__init__("sms:", clock=clock)
        self.first_rows, self.renewed = None, False

    def stopped(self, rows, claimants=None):
        self.first_rows = self.first_rows or rows
        return super().stopped(self.first_rows if self.renewed else rows, claimants)


def test_a_heartbeat_renewed_while_its_holders_claims_are_given_back_keeps_them(core):
    from core.platform import leases

    late = "sms@e:5:late"
    lifetime = timedelta(seconds=90)
    leases.acquire(core.db, f"sms:{late}", late, lifetime, now=NOW)
    [message] = [add(core, "late")]
    outbox.claim_due(core.db, limit=1, holder=late)
    clock = Clock()
    heartbeats = RenewedMeanwhile(clock)
    assert outbox.recover_claims_of_stopped_holders(core.db, heartbeats, channel="sms") == 0
    clock.now += 90  # unchanged for its lifetime as read, yet renewed before the update
    leases.renew(core.db, f"sms:{late}", late, lifetime, now=NOW + timedelta(seconds=90))
    heartbeats.renewed = True
    assert outbox.recover_claims_of_stopped_holders(core.db, heartbeats, channel="sms") == 0
    assert row(core, message).status == NotificationStatus.SENDING

    heartbeats.renewed = False  # no renewal since: the guard is what kept it
    heartbeats.first_rows = None
    assert outbox.recover_claims_of_stopped_holders(core.db, heartbeats, channel="sms") == 0
    clock.now += 90
    assert outbox.recover_claims_of_stopped_holders(core.db, heartbeats, channel="sms") == 1
