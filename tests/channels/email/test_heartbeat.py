"""The e-mail sender's heartbeat: a sender that dies has its claims given back by the next
channel as soon as its heartbeat is seen stopped (at once for a process of this machine
that is gone), a live sender's never; a sender claims nothing without a valid heartbeat
and begins nothing it claimed before a lapse."""

from __future__ import annotations

import signal
import time
from dataclasses import replace

import pytest
from sqlalchemy import select

from channels.email.channel import EmailChannel, Timings
from channels.email.heartbeat import SenderHeartbeat
from core.messaging import outbox
from core.messaging.models import Notification
from core.platform import leases
from gateway.bootstrap import build_core
from tests import factories as f
from tests import processes
from tests.channels.email import mails
from tests.channels.email.conftest import wait_for
from tests.conftest import make_settings

NUMBER = "4471234"
# Short enough for a test to see a heartbeat stand still for its lifetime.
QUICK = Timings(tick_seconds=0.2, smtp_timeout=0.2, heartbeat_interval=0.2,
                heartbeat_lifetime=2.0)


def replies(core) -> list[Notification]:
    with core.db.read() as session:
        return list(session.scalars(select(Notification)
                                    .where(Notification.channel == "email")
                                    .order_by(Notification.id)))


def queue_replies(core, count: int = 1) -> None:
    """``count`` e-mail notifications (a registration each, to the applicant's address)."""
    for n in range(count):
        core.record_event(f.registered(str(4471234 + n)))
    assert len(replies(core)) == count


@pytest.fixture
def notifying(core, database_url, tmp_path):
    """A core that sends registrations by e-mail too (``core`` empties the database)."""
    core = build_core(make_settings(database_url, tmp_path, email={
        "enabled": True, "notifications": True}), background_log=False)
    yield core
    core.close()


def test_a_sender_killed_mid_message_has_its_reply_sent_once_by_the_next_at_once(
        core, command_environment, dovecot, folder, smtp, email_settings):
    core.record_event(f.registered(NUMBER))
    dovecot.append(folder, mails.plain(f"حالة المعاملة {NUMBER}"))
    smtp.hold_rcpt.set()  # the killed sender gets as far as RCPT TO, never to its data
    process = processes.start("email", command_environment)
    try:
        wait_for(lambda: smtp.rcpts_held or process.poll() is not None, limit=60)
    finally:
        output = processes.stop(process, signal.SIGKILL)
    assert smtp.rcpts_held, output
    [claimed] = replies(core)
    # Claimed by the killed process, under its heartbeat, which has 2 minutes to run.
    assert claimed.status == "sending" and f":{process.pid}:" in claimed.claimed_by
    assert leases.current(core.db)[
        leases.heartbeat_name(leases.EMAIL_SENDER_PREFIX, claimed.claimed_by)].live()
    smtp.hold_rcpt.clear()

    restarted = EmailChannel(core, email_settings, timings=replace(Timings(), tick_seconds=0.2))
    restarted.start()
    try:
        wait_for(lambda: smtp.messages())
    finally:
        restarted.stop()

    [reply] = smtp.messages()
    assert reply["To"] == f.EMAIL
    [sent] = replies(core)
    assert sent.status == "sent"


def test_claims_name_the_sender_and_a_clean_stop_gives_its_heartbeat_up(
        notifying, email_settings, smtp):
    channel = EmailChannel(notifying, email_settings, timings=QUICK)
    name = channel.heartbeat.name
    assert name.startswith(leases.EMAIL_SENDER_PREFIX)
    queue_replies(notifying)

    channel.start()
    try:
        wait_for(lambda: smtp.messages())
        assert leases.current(notifying.db)[name].holder == channel.holder
    finally:
        channel.stop()

    assert name not in leases.current(notifying.db)
    assert [row.status for row in replies(notifying)] == ["sent"]


def test_a_live_senders_claims_stay_and_a_stopped_ones_go_back_after_its_lifetime(
        notifying, email_settings, smtp):
    # Our own pid: a holder that is alive as far as this machine can tell, as a sender
    # on another machine is; only its heartbeat standing still gives its claims back.
    # A lifetime of 4 s: a loaded machine may hold the beating thread back for a while.
    timings = replace(QUICK, heartbeat_lifetime=4.0)
    other = EmailChannel(notifying, email_settings, timings=timings)
    queue_replies(notifying)
    [claim] = outbox.claim_due(notifying.db, channel="email", holder=other.holder)
    watcher = EmailChannel(notifying, email_settings, timings=timings)

    other.heartbeat.start()  # beating, as a live sender's does
    try:
        deadline = time.monotonic() + 1.5 * timings.heartbeat_lifetime
        while time.monotonic() < deadline:
            watcher.recover_orphaned_claims()
            assert [row.status for row in replies(notifying)] == ["sending"]
            time.sleep(0.1)
    finally:
        other.heartbeat.stop(5)  # dead from here: its row stands still, and stays

    watcher.recover_orphaned_claims()
    assert [row.status for row in replies(notifying)] == ["sending"]  # not seen long enough
    wait_for(lambda: (watcher.recover_orphaned_claims(),
                      replies(notifying)[0].status == "pending")[1])
    [row] = replies(notifying)
    assert row.claimed_by is None and "heartbeat stopped" in row.last_error
    assert row.attempts == claim.attempts  # the next claim is the next attempt
    assert smtp.messages() == []


def test_without_a_valid_heartbeat_nothing_is_claimed(notifying, email_settings, smtp):
    now = [1000.0]
    channel = EmailChannel(notifying, email_settings, timings=QUICK)
    channel.heartbeat = SenderHeartbeat(
        notifying, channel.holder, interval=QUICK.heartbeat_interval,
        lifetime=QUICK.heartbeat_lifetime, margin=QUICK.heartbeat_margin,
        alive=lambda: True, clock=lambda: now[0])
    channel.sender.heartbeat = channel.heartbeat
    queue_replies(notifying)

    assert channel.sender.send_due() == 0  # never beaten
    channel.heartbeat.beat()
    now[0] += QUICK.heartbeat_lifetime - QUICK.heartbeat_margin  # the deadline
    assert channel.sender.send_due() == 0

    assert [row.status for row in replies(notifying)] == ["pending"]
    assert smtp.messages() == []


def test_claims_overtaken_by_the_deadline_are_given_back_untried_and_sent_after(
        notifying, email_settings, smtp):
    # Our clock passes the heartbeat's deadline as soon as the server has taken one
    # message: the second of the same claim is not begun.
    base = 1000.0
    heartbeat = SenderHeartbeat(
        notifying, "email@test:1:abcdef", interval=QUICK.heartbeat_interval,
        lifetime=QUICK.heartbeat_lifetime, margin=QUICK.heartbeat_margin,
        alive=lambda: True, clock=lambda: base + (100.0 if smtp.count() == 1 else 0.0))
    channel = EmailChannel(notifying, email_settings, timings=QUICK)
    channel.sender.heartbeat = heartbeat
    queue_replies(notifying, 2)
    heartbeat.beat()

    assert channel.sender.send_due() == 1

    first, second = replies(notifying)
    assert first.status == "sent"
    assert (second.status, second.attempts, second.claimed_by) == ("pending", 0, None)
    assert smtp.count() == 1
    # Beaten again (our clock now past the first message): a new epoch, and it goes.
    heartbeat.beat()
    assert channel.sender.send_due() == 1
    assert [row.status for row in replies(notifying)] == ["sent", "sent"]
    assert smtp.count() == 2

