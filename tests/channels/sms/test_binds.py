"""The SMS channel on several binds (``sms.smpp.binds``), against the real SMSC peer:
binds in one process and in two ``gateway sms`` processes share the outbox, the
account's throughput and its delivery receipts.

The bounds, as tested here:
- the binds together never exceed ``throughput_per_second``: each sends at most
  ``0.95 * throughput / binds`` a second with one token saved up, so over any second the
  SMSC counts at most ``0.95 * throughput + binds``; the tests allow 2 submits more for
  the peer's read timing (a few submits read in one turn of its event loop);
- a bind whose connection drops resends only its submits in flight (at most ``window``)
  and the other binds go on;
- a killed ``gateway sms`` resends only what its binds had claimed and not recorded (at
  most ``SLOTS_PER_WINDOW * window`` per bind), once its heartbeats have stopped (at once
  on the same machine).
"""

from __future__ import annotations

import signal
import time
from collections import Counter
from dataclasses import replace

import pytest

from channels.sms.binds import SmsBinds
from channels.sms.channel import SLOTS_PER_WINDOW, SmsChannel
from core.messaging import outbox
from core.platform import leases
from tests import processes
from tests.channels.sms.smsc_settings import sms_environment, sms_settings
from tests.channels.sms.test_channel import FAST, notifications, until
from tests.channels.sms.test_resilience import all_sent, copies, enqueue_many

# Standing by, a channel looks for a free slot at every beat: quick ones here.
QUICK_BEATS = replace(FAST, heartbeat_interval=0.2)


@pytest.fixture
def make_binds(core, smsc):
    made: list[SmsBinds] = []

    def make(*, binds: int = 2, throughput: float = 1000.0, window: int = 10,
             timings=FAST, **options) -> SmsBinds:
        group = SmsBinds(core, sms_settings(smsc, binds=binds, throughput=throughput,
                                            window=window, **options), timings=timings)
        made.append(group)
        group.start()
        until(lambda: all(channel.session.wait_bound(0.1) for channel in group.channels))
        return group

    yield make
    for group in made:
        group.stop()


def sessions(state) -> list[int]:
    return sorted(s["id"] for s in state["sessions"] if s["bound"])


def per_session(submits: list[dict]) -> Counter:
    return Counter(s["session"] for s in submits)


def busiest_second(submits: list[dict]) -> int:
    """The most submits the SMSC received within any one second."""
    times = sorted(s["at"] for s in submits)
    most, first = 0, 0
    for last, at in enumerate(times):
        while at - times[first] >= 1.0:
            first += 1
        most = max(most, last - first + 1)
    return most


# --- one process, two binds ---------------------------------------------------------


def test_two_binds_in_one_process_both_carry_notifications_and_answers(core, smsc,
                                                                       make_binds):
    group = make_binds(binds=2)
    assert len(sessions(smsc.state())) == 2
    assert sorted(channel.heartbeat.slot for channel in group.channels) == [0, 1]

    queued = enqueue_many(core, 60, "both")
    until(lambda: all_sent(core, 60))
    first, second = sessions(smsc.state())
    for session in (first, second):
        smsc.send_mo("1234", source_addr=f"96655000{session:04d}", session=session)
    state = smsc.wait_for(lambda s: len(s["submits"]) >= 62 and s)

    assert set(copies(state["submits"])) >= {(d, t) for t, d in queued.items()}
    carried = per_session([s for s in state["submits"] if s["text"].startswith("both")])
    assert set(carried) == {first, second} and min(carried.values()) >= 10, carried
    # Each MO answered, whichever bind it came in on (and the answer stored once).
    answered = {s["destination_addr"] for s in state["submits"]}
    assert {f"96655000{first:04d}", f"96655000{second:04d}"} <= answered
    assert all(r["status"] == 0 for r in state["deliver_sm_resps"])


def test_a_receipt_on_the_other_bind_is_matched_first_and_later_segments(core, smsc,
                                                                         make_binds):
    make_binds(binds=2, throughput=1000.0)
    long_body = "Your application 2025-0001 was registered. " * 8  # three GSM segments
    with core.db.write.begin() as session:
        outbox.enqueue(session, cause_key="r:1", kind="registration", audience="citizen",
                       recipient="+966551230001", language="en", body="receipt one")
        outbox.enqueue(session, cause_key="r:2", kind="registration", audience="citizen",
                       recipient="+966551230002", language="en", body=long_body)
    until(lambda: all_sent(core, 2))
    state = smsc.state()
    accepted = [s for s in state["submits"] if s["message_id"]]
    one = next(k for k, s in enumerate(accepted) if s["text"] == "receipt one")
    third = next(k for k, s in enumerate(accepted)
                 if s["destination_addr"] == "966551230002" and s["udh"].endswith("03"))

    def other(k: int) -> int:
        return next(session for session in sessions(state)
                    if session != accepted[k]["session"])

    smsc.send_receipt(submit=one, session=other(one))
    smsc.send_receipt(submit=third, stat="UNDELIV", err="001", session=other(third))

    rows = until(lambda: (rows := notifications(core, channel="sms"))
                 and {r.status for r in rows} == {"delivered", "failed"} and rows)
    by_body = {r.body: r for r in rows}
    assert by_body["receipt one"].status == "delivered"
    assert by_body[long_body].status == "failed"
    assert "part 3" in by_body[long_body].last_error


def test_a_later_segments_failure_on_another_processs_bind_fails_its_message(core, smsc):
    # Two channels that share nothing, as two `gateway sms` would: the one the receipt
    # comes in on never saw the segment's id, and finds it in the outbox.
    settings = sms_settings(smsc, binds=2)
    timings = replace(FAST, receipt_hold=0.5)
    first, second = (SmsChannel(core, settings, timings=timings) for _ in range(2))
    first.start()
    try:
        assert first.session.wait_bound(10)
        long_body = "Your application 2025-0002 was registered. " * 4  # two GSM segments
        with core.db.write.begin() as session:
            outbox.enqueue(session, cause_key="x:1", kind="registration",
                           audience="citizen", recipient="+966551230003", language="en",
                           body=long_body)
        until(lambda: all_sent(core, 1))
        second.start()
        assert second.session.wait_bound(10)
        first.stop()
        state = smsc.state()
        later = next(k for k, s in enumerate(s for s in state["submits"] if s["message_id"])
                     if s["udh"].endswith("02"))
        smsc.send_receipt(submit=later, stat="UNDELIV", err="001", session=max(
            sessions(state)))
        [row] = until(lambda: notifications(core, status="failed"), timeout=10)
        assert "part 2" in row.last_error
    finally:
        first.stop()
        second.stop()


def test_a_bind_without_a_slot_stands_by_and_takes_over_when_the_holder_stops(core, smsc):
    settings = sms_settings(smsc, binds=1)
    holder, spare = (SmsChannel(core, settings, timings=QUICK_BEATS) for _ in range(2))
    holder.start()
    try:
        assert holder.session.wait_bound(10)
        spare.start()
        until(lambda: spare.heartbeat.standing_by and leases.current(core.db).get(
            spare.heartbeat.name))
        time.sleep(0.5)
        assert not spare.bound and len(sessions(smsc.state())) == 1
        assert leases.current(core.db)[spare.heartbeat.name].state["standby"] is True

        enqueue_many(core, 5, "spare")
        holder.stop()  # gives its slot up
        assert spare.session.wait_bound(10)
        until(lambda: all_sent(core, 5))
        assert {r.claimed_by for r in notifications(core)} == {spare.heartbeat.holder}
        assert leases.current(core.db)[spare.heartbeat.name].state["slot"] == 1
    finally:
        holder.stop()
        spare.stop()


def test_a_bind_that_drops_resends_at_most_its_window_and_the_other_goes_on(core, smsc,
                                                                            make_binds):
    window = 5
    make_binds(binds=2, throughput=60.0, window=window)
    queued = enqueue_many(core, 120, "drop")  # about 2 s at 60 a second
    smsc.wait_for(lambda s: len(s["submits"]) >= 30)
    first, second = sessions(smsc.state())
    smsc.drop(session=first)
    dropped_at = time.time()
    rows = until(lambda: all_sent(core, 120), timeout=30)

    submits = smsc.state()["submits"]
    seen = copies(submits)
    assert set(seen) == {(d, t) for t, d in queued.items()}  # none lost
    assert sum(n - 1 for n in seen.values()) <= window
    # The other bind went on while the first was bound again.
    assert any(s["session"] == second and dropped_at < s["at"] < dropped_at + 0.3
               for s in submits)
    assert len(rows) == 120


# --- two processes ------------------------------------------------------------------


def two_processes(database_url, tmp_path, smsc, **more):
    env = processes.environment(database_url, tmp_path, **sms_environment(smsc),
                                GATEWAY__SMS__SMPP__BINDS="2",
                                GATEWAY__SMS__SMPP__BINDS_PER_PROCESS="1", **more)
    started = [processes.start("sms", env) for _ in range(2)]
    try:
        smsc.wait_for(lambda s: len(sessions(s)) == 2, timeout=30)
    except Exception:
        for process in started:
            processes.stop(process, signal.SIGKILL)
        raise
    return started


def test_two_processes_share_the_accounts_throughput(core, smsc, database_url, tmp_path):
    rate, count = 40, 200
    queued = enqueue_many(core, count, "share")
    started = two_processes(database_url, tmp_path, smsc,
                            GATEWAY__SMS__SMPP__THROUGHPUT_PER_SECOND=str(rate))
    try:
        until(lambda: all_sent(core, count), timeout=60)
    finally:
        outputs = [processes.stop(process) for process in started]
    assert [process.returncode for process in started] == [0, 0], outputs

    submits = smsc.state()["submits"]
    assert set(copies(submits)) == {(d, t) for t, d in queued.items()}
    carried = per_session(submits)
    assert len(carried) == 2 and min(carried.values()) >= count // 4, carried
    # 0.95 * 40 + 2 saved tokens = 40 at most in any second, and 2 for the peer's timing.
    assert busiest_second(submits) <= rate + 2, busiest_second(submits)
    for session in carried:
        mine = [s for s in submits if s["session"] == session]
        assert busiest_second(mine) <= rate / 2 + 2, (session, busiest_second(mine))


def test_a_killed_process_loses_nothing_and_resends_at_most_its_claims(
        core, smsc, database_url, tmp_path):
    count, window = 160, 5
    queued = enqueue_many(core, count, "kill")
    victim, survivor = two_processes(database_url, tmp_path, smsc,
                                     GATEWAY__SMS__SMPP__THROUGHPUT_PER_SECOND="40",
                                     GATEWAY__SMS__SMPP__WINDOW=str(window))
    try:
        smsc.wait_for(lambda s: len(s["submits"]) >= count // 4, timeout=30)
        processes.stop(victim, signal.SIGKILL)
        killed_at = time.time()
        until(lambda: all_sent(core, count), timeout=60)
    finally:
        processes.stop(victim, signal.SIGKILL)
        output = processes.stop(survivor)
    assert survivor.returncode == 0, output

    submits = smsc.state()["submits"]
    seen = copies(submits)
    assert set(seen) == {(d, t) for t, d in queued.items()}  # none lost
    assert all(n <= 2 for n in seen.values())
    assert sum(n - 1 for n in seen.values()) <= SLOTS_PER_WINDOW * window, seen
    # The survivor's bind kept sending, and sent the dead one's claims at once.
    survivors = {s["session"] for s in submits if s["at"] > killed_at + 0.5}
    assert len(survivors) == 1
    assert "claimed by a sender that stopped are queued again" in output
