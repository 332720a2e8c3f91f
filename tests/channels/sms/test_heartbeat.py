"""The SMS channel's heartbeat, against the real SMSC peer: its own thread, its lifetime,
its name, and no claim made while it is not held (another channel would take the claims
of a channel without a heartbeat as orphans and send them again)."""

from __future__ import annotations

import threading
import time
from dataclasses import replace

import pytest

from channels.sms.channel import SmsChannel, Timings
from channels.sms.heartbeat import heartbeat_name
from channels.sms.pdus import NotSent, SubmitRequest
from channels.sms.receipts import canonical_message_id
from channels.sms.smpp import SmppSession
from core.messaging import outbox
from core.platform import leases
from tests.channels.sms.smsc_settings import sms_settings
from tests.channels.sms.test_channel import FAST, notifications, until
from tests.channels.sms.test_resilience import enqueue_many

BEATING = replace(FAST, heartbeat_interval=0.2)


def heartbeat(core, channel: SmsChannel) -> leases.LeaseView | None:
    return leases.current(core.db).get(channel.heartbeat.name)


def test_two_channels_on_a_long_host_name_keep_heartbeats_of_their_own(monkeypatch):
    monkeypatch.setattr(leases.socket, "gethostname", lambda: "gateway-" + "x" * 70)
    first, second = leases.holder_name("sms"), leases.holder_name("sms")

    names = heartbeat_name(first), heartbeat_name(second)
    assert names[0] != names[1]
    assert all(len(name) <= 64 and name.startswith(leases.SMS_CHANNEL_PREFIX)
               for name in names)
    # The end of the holder (pid and random suffix) stays readable in the name.
    assert names[0].endswith(first.rsplit(":", 2)[-2] + ":" + first.rsplit(":", 1)[-1])
    short = "sms@host:12:abcdef"
    assert heartbeat_name(short) == f"sms:{short}"


def test_the_heartbeat_outlives_a_submits_response_timeout(core, smsc, make_channel):
    channel = make_channel(timings=replace(FAST, response_timeout=75.0))
    assert channel.session.wait_bound(10)

    beat = until(lambda: heartbeat(core, channel))
    lifetime = (beat.expires_at - beat.renewed_at).total_seconds()
    assert lifetime >= 75.0 + 30.0
    default = make_channel()
    beat = until(lambda: heartbeat(core, default))
    assert (beat.expires_at - beat.renewed_at).total_seconds() >= 60.0


def test_the_heartbeat_is_renewed_while_the_loop_is_stalled(core, smsc, make_channel):
    # A slow batch, or the database's writer lock held by an import: the loop waits, the
    # heartbeat goes on, so no other channel takes this one's claims.
    channel = make_channel(timings=BEATING, start=False)
    stalled, release = threading.Event(), threading.Event()
    original = channel._pass

    def stalling_pass() -> bool:
        stalled.set()
        release.wait(30)
        return original()

    channel._pass = stalling_pass
    try:
        channel.start()
        assert stalled.wait(10)
        first = heartbeat(core, channel).renewed_at
        until(lambda: heartbeat(core, channel).renewed_at > first, timeout=5)
        second = heartbeat(core, channel).renewed_at
        until(lambda: heartbeat(core, channel).renewed_at > second, timeout=5)
    finally:
        release.set()


def test_the_heartbeat_stops_when_the_session_thread_is_dead(
        core, smsc, make_channel, monkeypatch):
    channel = make_channel(timings=BEATING)
    assert channel.session.wait_bound(10)
    until(lambda: heartbeat(core, channel))

    monkeypatch.setattr(SmppSession, "running", property(lambda self: False))
    # The heartbeat thread has seen it (so a beat under way has finished): no more claims.
    until(lambda: not channel.heartbeat.valid(), timeout=5)
    last = heartbeat(core, channel).renewed_at
    time.sleep(1.0)  # five heartbeat intervals

    assert heartbeat(core, channel).renewed_at == last
    assert not channel.heartbeat.valid()


def test_nothing_is_claimed_until_the_heartbeat_is_held(core, smsc, make_channel,
                                                        monkeypatch):
    refused = threading.Event()
    refused.set()
    acquire = leases.acquire

    def acquire_unless_refused(*args, **kwargs) -> bool:
        return False if refused.is_set() else acquire(*args, **kwargs)

    monkeypatch.setattr(leases, "acquire", acquire_unless_refused)
    enqueue_many(core, 3, "unheld")
    channel = make_channel(timings=BEATING)
    assert channel.session.wait_bound(10)
    time.sleep(1.0)  # twenty poll intervals

    assert notifications(core, status="pending") and not smsc.submits()
    assert heartbeat(core, channel) is None

    refused.clear()
    until(lambda: len(notifications(core, status="sent")) == 3)
    assert {r.claimed_by for r in notifications(core, status="sent")} <= {
        channel.heartbeat.holder, None}
    assert heartbeat(core, channel) is not None


def test_a_clean_stop_gives_the_heartbeat_up_after_the_session_has_stopped(core, smsc):
    channel = SmsChannel(core, sms_settings(smsc), timings=BEATING)
    channel.start()
    assert channel.session.wait_bound(10)
    until(lambda: heartbeat(core, channel))
    seen_while_stopping = []
    stop_session = channel.session.stop

    def stop(*args, **kwargs) -> None:
        seen_while_stopping.append(heartbeat(core, channel))
        stop_session(*args, **kwargs)
        seen_while_stopping.append(heartbeat(core, channel))

    channel.session.stop = stop
    channel.stop()

    assert all(beat is not None for beat in seen_while_stopping), seen_while_stopping
    assert len(seen_while_stopping) == 2
    assert heartbeat(core, channel) is None


def test_a_stalled_channels_claims_are_not_taken_by_another(core, smsc, make_channel):
    # The first channel's loop stalls with its claims in flight for longer than its
    # heartbeat interval; a second channel, watching with a lifetime far longer, keeps off.
    first = make_channel(window=3, timings=replace(BEATING, response_timeout=300.0))
    assert first.session.wait_bound(10)
    smsc.script(silent=True)
    enqueue_many(core, 6, "stalled")
    in_flight = until(lambda: len(notifications(core, status="sending")) == 6
                      and notifications(core, status="sending"))
    release = threading.Event()
    original = first._pass
    first._pass = lambda: release.wait(30) and original()
    try:
        second = make_channel(window=3, timings=BEATING)
        for _ in range(5):
            second.dispatch.recover_orphaned_claims()
            time.sleep(0.3)
        assert [(r.id, r.attempts, r.claimed_by) for r in
                notifications(core, status="sending")] == [
            (r.id, r.attempts, r.claimed_by) for r in in_flight]
    finally:
        release.set()


class Clock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_no_claim_is_made_once_the_last_renewal_is_too_old_for_a_submit_to_end_in_time(
        core, smsc):
    # A renewal that hangs (a row lock, a dead socket) or a heartbeat thread gone: another
    # channel takes the claims once the row has stood still for its lifetime, so this one
    # claims nothing a submit's response timeout before that.
    clock = Clock()
    channel = SmsChannel(core, sms_settings(smsc), timings=BEATING, clock=clock)
    channel.heartbeat.beat()
    beat = heartbeat(core, channel)
    lifetime = (beat.expires_at - beat.renewed_at).total_seconds()
    assert channel.heartbeat.valid()
    clock.now += lifetime / 2 - 1
    assert channel.heartbeat.valid()
    clock.now = 1000.0 + lifetime - channel.timings.response_timeout
    assert not channel.heartbeat.valid()
    channel.heartbeat.beat()  # renewed: claims again
    assert channel.heartbeat.valid()


def test_the_heartbeat_thread_outlives_a_failure_of_its_own(core, smsc, make_channel):
    channel = make_channel(timings=BEATING, start=False)
    failures = []
    original = channel.heartbeat.beat

    def failing_beat() -> None:
        if len(failures) < 3:
            failures.append(1)
            raise RuntimeError("a bug in the heartbeat")
        original()

    channel.start()  # the first beat, then the thread's
    channel.heartbeat.beat = failing_beat
    # Read once the failures are through: a beat under way when _beat was swapped runs
    # the original code, and may write after an earlier read.
    until(lambda: len(failures) == 3, timeout=10)
    first = until(lambda: heartbeat(core, channel)).renewed_at
    until(lambda: heartbeat(core, channel).renewed_at > first, timeout=10)
    assert len(failures) == 3 and channel.heartbeat.thread.is_alive()


def test_a_bind_change_while_the_database_fails_is_not_retried_back_to_back(
        core, smsc, make_channel, monkeypatch):
    channel = make_channel(timings=BEATING)
    assert channel.session.wait_bound(10)
    until(lambda: heartbeat(core, channel))
    attempts = []

    def failing_acquire(*args, **kwargs) -> bool:
        attempts.append(time.monotonic())
        raise OSError("the database is down")

    monkeypatch.setattr(leases, "acquire", failing_acquire)
    until(lambda: attempts, timeout=5)
    # The bind seen as gone while every write fails.
    monkeypatch.setattr(SmppSession, "bound", property(lambda self: False))
    start = len(attempts)
    time.sleep(1.0)  # five heartbeat intervals

    assert len(attempts) - start <= 10, len(attempts) - start
    assert not channel.heartbeat.valid()


def test_answers_handed_over_while_stopping_are_recorded_before_the_heartbeat_goes(
        core, smsc, make_channel):
    channel = make_channel(timings=BEATING)
    assert channel.session.wait_bound(10)
    until(lambda: heartbeat(core, channel))
    stop_session = channel.session.stop

    def stop(*args, **kwargs) -> None:
        channel.session.stop = stop_session  # once (the fixture stops it again)
        # The session thread's answer, claimed and submitted after the loop had stopped.
        enqueue_many(core, 1, "late")
        claimed = outbox.claim_due(core.db, limit=1, holder=channel.heartbeat.holder)
        assert claimed
        for outgoing in channel.dispatch.send(claimed, channel.heartbeat.epoch):
            channel.dispatch.handed.put(outgoing)
        stop_session(*args, **kwargs)

    channel.session.stop = stop
    channel.stop()

    assert heartbeat(core, channel) is None
    assert not notifications(core, status="sending")
    (late,) = notifications(core, body="late notice 0000")
    copies = [s for s in smsc.submits() if s["text"] == late.body]
    # Recorded as what the SMSC saw: sent is one accepted copy under its id; pending is
    # none at all (a copy the SMSC took but recorded as pending would go out twice).
    assert late.status in ("sent", "pending"), late.status
    if late.status == "sent":
        assert [canonical_message_id(s["message_id"]) for s in copies] == [
            late.provider_message_id]
    else:
        assert copies == [] and late.provider_message_id is None


@pytest.mark.parametrize(("response_timeout", "lifetime", "interval", "expected"), [
    (30.0, 90.0, 10.0, (90.0, 40.0)),  # the defaults: as configured
    (75.0, 90.0, 10.0, (180.0, 85.0)),  # a slow SMSC: the lifetime grows, not the margin
    (5.0, 90.0, 1.0, (90.0, 15.0)),
    (5.0, 10.0, 1.0, (31.0, 15.0)),
])
def test_a_claim_made_at_the_deadline_is_answered_and_recorded_within_the_lifetime(
        response_timeout, lifetime, interval, expected):
    timings = Timings(response_timeout=response_timeout,
                                  heartbeat_lifetime=lifetime, heartbeat_interval=interval)
    ttl, margin = timings.heartbeat_lease()

    assert (ttl, margin) == expected
    assert margin >= response_timeout + 10  # a submit's answer and its recording fit
    assert ttl - margin >= margin + interval  # claims go on for over half the lifetime


def test_claims_whose_commit_outlasted_the_heartbeats_deadline_are_given_back_unsent(
        core, smsc, make_channel, monkeypatch):
    # The claiming commit waited on a busy writer lock while the heartbeat stalled: by the
    # time it returns a peer may take these claims, so they are not sent but given back.
    channel = make_channel(timings=BEATING)
    assert channel.session.wait_bound(10)
    until(lambda: heartbeat(core, channel))
    beat, claim = channel.heartbeat.beat, outbox.mark_sent_and_claim
    stalled, recovered = threading.Event(), threading.Event()

    def slow_claim(*args, **kwargs):
        claimed = claim(*args, **kwargs)
        if claimed and not recovered.is_set():
            channel.heartbeat.beat = lambda: None  # the heartbeat stalls ...
            channel.heartbeat.valid_until = 0.0  # ... and its deadline passes meanwhile
            stalled.set()
        return claimed

    monkeypatch.setattr(outbox, "mark_sent_and_claim", slow_claim)
    enqueue_many(core, 3, "late")
    channel._work.set()
    assert stalled.wait(10)
    time.sleep(0.5)  # ten poll intervals

    assert not smsc.submits()
    assert [(r.status, r.attempts, r.claimed_by) for r in notifications(core)] == [
        ("pending", 0, None)] * 3
    recovered.set()
    channel.heartbeat.beat = beat
    until(lambda: len(notifications(core, status="sent")) == 3)
    assert len(smsc.submits()) == 3


def test_a_submit_whose_claim_lapsed_before_its_turn_is_not_sent(core, smsc, make_channel):
    channel = make_channel(timings=BEATING)
    assert channel.session.wait_bound(10)
    request = SubmitRequest(source_addr="1010", destination_addr="966550000001",
                            short_message=b"late", data_coding=0)
    lapsed = threading.Event()
    lapsed.set()

    [late] = channel.session.submit_many([request], sendable=lambda: not lapsed.is_set())
    until(late.done, timeout=5)
    with pytest.raises(NotSent):
        late.result()
    assert not smsc.submits()

    lapsed.clear()
    [valid] = channel.session.submit_many([request], sendable=lambda: not lapsed.is_set())
    until(valid.done, timeout=5)
    assert valid.result().accepted and len(smsc.submits()) == 1


def test_a_heartbeat_stuck_in_its_write_at_stop_is_left_to_expire_not_released(
        core, smsc, make_channel, monkeypatch):
    # Released under a beat still writing, the row would be written again after the
    # release: a heartbeat of a stopped channel that looks live.
    channel = make_channel(timings=BEATING)
    assert channel.session.wait_bound(10)
    until(lambda: heartbeat(core, channel))
    acquire = leases.acquire
    entered, unblock = threading.Event(), threading.Event()

    def stuck_acquire(*args, **kwargs) -> bool:
        entered.set()
        unblock.wait(30)
        return acquire(*args, **kwargs)

    monkeypatch.setattr(leases, "acquire", stuck_acquire)
    assert entered.wait(5)
    try:
        channel.stop(timeout=0.5)
        assert channel.heartbeat.thread.is_alive()
        assert heartbeat(core, channel) is not None  # not released
    finally:
        unblock.set()
    channel.heartbeat.thread.join(5)
    assert not channel.heartbeat.thread.is_alive()
    last = heartbeat(core, channel).renewed_at
    channel.heartbeat.beat()  # stopped: writes nothing more
    assert heartbeat(core, channel).renewed_at == last
