"""The SMS channel when things go wrong, against the real SMSC peer (node-smpp): refused
binds, responses out of order or never, the SMSC killed mid-dispatch, the gateway killed
with SIGKILL mid-dispatch. Nothing is lost; duplicates stay within the stated bound.

The bounds, as measured here:
- a lost connection (the SMSC killed) resends only the submits that were in flight and
  unanswered: at most ``sms.smpp.window`` duplicates per kill;
- a submit that times out is sent again: one extra copy at the SMSC per timeout;
- a gateway crash resends the rows it had claimed but not recorded: at most
  ``SLOTS_PER_WINDOW * window`` (the claim slots a channel holds), of which only those
  the SMSC had accepted are duplicates; a restarted ``gateway sms`` resends them once
  the dead one's heartbeat has stopped (at once on the same machine: its pid is gone;
  another machine's channel after the heartbeat's 90 s lifetime), not after the stale age.
"""

from __future__ import annotations

import signal
import time
from collections import Counter
from dataclasses import replace

from channels.sms.channel import SLOTS_PER_WINDOW
from channels.sms.receipts import canonical_message_id
from core.messaging import outbox
from tests import processes
from tests.channels.sms.smsc_settings import sms_environment
from tests.channels.sms.test_channel import FAST, notifications, settled, until
from tests.peers.smsc_peer import ESME_RBINDFAIL


def enqueue_many(core, count: int, tag: str) -> dict[str, str]:
    """``count`` single-segment notifications in one transaction; {body: destination}."""
    sent: dict[str, str] = {}
    with core.db.write.begin() as session:
        for i in range(count):
            body, recipient = f"{tag} notice {i:04d}", f"+96655{i:07d}"
            outbox.enqueue(session, cause_key=f"{tag}:{i}", kind="registration",
                           audience="citizen", recipient=recipient, language="en", body=body)
            sent[body] = recipient.removeprefix("+")
    return sent


def all_sent(core, count: int):
    rows = settled(core)
    return rows if rows and len(rows) == count and {r.status for r in rows} == {"sent"} \
        else None


def copies(submits: list[dict]) -> Counter:
    """How many submit_sm the SMSC saw per (destination, text)."""
    return Counter((s["destination_addr"], s["text"]) for s in submits)


def assert_ids_match(rows, submits: list[dict]) -> None:
    """Every row's provider id is the id of the one accepted copy of its text."""
    accepted = {}
    for s in submits:
        if s["message_id"]:
            key = (s["destination_addr"], s["text"])
            assert key not in accepted, f"accepted twice: {key}"
            accepted[key] = canonical_message_id(s["message_id"])
    for row in rows:
        key = (row.recipient.removeprefix("+"), row.body)
        assert row.provider_message_id == accepted[key], key


# --- 1. bind refused, then accepted ------------------------------------------------------


def test_a_refused_bind_is_retried_with_backoff_then_the_queue_is_sent(
        core, smsc, make_channel):
    smsc.script(refuse_binds_for_ms=1500)
    queued = enqueue_many(core, 5, "bind")

    channel = make_channel()
    rows = until(lambda: all_sent(core, 5), timeout=30)

    binds = smsc.state()["binds"]
    refused = [b for b in binds if b["status"] == ESME_RBINDFAIL]
    [ok] = [b for b in binds if b["status"] == 0]
    assert binds.index(ok) == len(binds) - 1
    # Backoff 0.2, 0.4, 0.8, 1.0 s... over 1.5 s: a few tries, not a busy loop.
    assert 2 <= len(refused) <= 8, binds
    assert channel.session.binds == 1
    submits = smsc.submits()
    assert {s["session"] for s in submits} == {ok["session"]}
    assert copies(submits) == Counter((d, t) for t, d in queued.items())
    assert_ids_match(rows, submits)


# --- 2. submit responses out of order ----------------------------------------------------


def test_out_of_order_submit_responses_mark_each_message_sent_with_its_own_id(
        core, smsc, make_channel):
    smsc.script(reorder_window=5)  # hold 5 responses, send them reversed
    queued = enqueue_many(core, 10, "reorder")

    make_channel(window=10)
    rows = until(lambda: all_sent(core, 10), timeout=30)

    submits = smsc.submits()
    assert copies(submits) == Counter((d, t) for t, d in queued.items())  # no retries
    assert len({r.provider_message_id for r in rows}) == 10
    assert_ids_match(rows, submits)


# --- 3. no response ----------------------------------------------------------------------


def test_an_unanswered_submit_times_out_is_retried_and_ends_sent_once(
        core, smsc, make_channel):
    # The first submit's response comes after 3 s, long past the channel's 1 s timeout.
    smsc.script(next_submit_delays_ms=[3000])
    [body] = enqueue_many(core, 1, "timeout")

    make_channel(timings=replace(FAST, response_timeout=1.0))
    [row] = until(lambda: all_sent(core, 1), timeout=30)

    # Wait for the late response too: it must change nothing.
    state = smsc.wait_for(lambda s: all(x["answered"] for x in s["submits"])
                          and len(s["submits"]) == 2 and s, timeout=20)
    first, second = state["submits"]
    assert first["text"] == second["text"] == body
    # The bound: one timeout, one extra copy at the SMSC (both accepted by it).
    assert first["message_id"] and second["message_id"]
    [after] = until(lambda: notifications(core, id=row.id, status="sent"))
    assert after.provider_message_id == canonical_message_id(second["message_id"])
    assert after.attempts == 2 and after.last_error is None  # it went: no error left
    assert len(smsc.submits()) == 2


# --- 3b. a dropped link: the submits still queued were never tried -----------------------


def test_messages_never_on_the_wire_when_the_link_drops_go_again_at_once_untried(
        core, smsc, make_channel):
    # One submit on the wire at a time, five a second: when the SMSC drops the link at the
    # first submit, the other claimed messages still wait in the session's queue.
    smsc.script(drop_on_next_submits=1)
    queued = enqueue_many(core, 8, "unsent")
    # A long backoff: a message counted as an attempt would wait 30 s for its retry.
    channel = make_channel(window=1, throughput=5, timings=replace(
        FAST, retry_backoff=30.0, retry_backoff_max=60.0, reconnect_delay=0.2))

    def sent_but_the_dropped_one():
        rows = notifications(core, channel="sms")
        done = [r for r in rows if r.status == "sent"]
        return rows if len(done) == len(rows) - 1 else None

    rows = until(sent_but_the_dropped_one, timeout=15)

    [dropped] = [r for r in rows if r.status != "sent"]
    assert dropped.attempts == 1 and "the SMSC may have it" in dropped.last_error
    # The rest were requeued untried: no attempt counted, no error, no backoff waited.
    assert {(r.attempts, r.last_error) for r in rows if r.status == "sent"} == {(1, None)}
    assert channel.session.binds == 2
    submits = smsc.submits()
    assert {s["text"] for s in submits} == set(queued)
    assert sum(1 for s in submits if s["text"] == dropped.body) == 1


# --- 4. the SMSC killed and restarted mid-dispatch ---------------------------------------


def test_the_smsc_killed_and_restarted_mid_dispatch_loses_nothing_and_duplicates_at_most_the_window(  # noqa: E501
        core, smsc, make_channel):
    count, window = 1000, 10
    queued = enqueue_many(core, count, "kill")
    # A long response timeout: nothing expires while the SMSC is silent before the kill.
    channel = make_channel(window=window, throughput=2000,
                           timings=replace(FAST, response_timeout=30.0))

    smsc.wait_for(lambda s: len(s["submits"]) >= count // 3, timeout=30)
    # Stop answering, so the window freezes with its submits in flight; then a crash.
    smsc.script(silent=True)
    session = channel.session

    def frozen():
        state = smsc.state()
        unanswered = [s for s in state["submits"] if not s["answered"]]
        drained = not session.queued()
        full = len(session._in_flight) >= session.window or drained
        return state if unanswered and len(unanswered) == len(session._in_flight) and full \
            else None

    before = until(frozen, timeout=20)  # the records die with the process: take them now
    smsc.kill()
    in_flight = [s for s in before["submits"] if not s["answered"]]
    assert 0 < len(in_flight) < count
    smsc.restart()

    rows = until(lambda: all_sent(core, count), timeout=45)

    after = smsc.state()
    assert after["binds"] and all(s["answered"] for s in after["submits"])
    seen = copies(before["submits"]) + copies(after["submits"])
    assert set(seen) == {(d, t) for t, d in queued.items()}  # none lost
    duplicated = {key for key, n in seen.items() if n > 1}
    assert all(n <= 2 for n in seen.values())
    # Exactly the submits in flight at the kill went out again: at most the window.
    assert duplicated == {(s["destination_addr"], s["text"]) for s in in_flight}
    assert len(duplicated) <= window
    assert_ids_match(rows, before["submits"] + after["submits"])


# --- 5. the gateway killed with SIGKILL mid-dispatch -------------------------------------


def test_the_gateway_killed_mid_dispatch_and_restarted_resends_its_claims_promptly(
        core, smsc, database_url, tmp_path):
    count, window = 60, 5
    queued = enqueue_many(core, count, "crash")
    # About 3 s of dispatch: 20 segments a second, 5 in flight. The stale-claim age is the
    # default (300 s): the restart must not wait for it.
    env = processes.environment(database_url, tmp_path, **sms_environment(smsc),
                                GATEWAY__SMS__SMPP__WINDOW=str(window),
                                GATEWAY__SMS__SMPP__THROUGHPUT_PER_SECOND="20")
    stale_age = 300
    process = processes.start("sms", env)
    try:
        smsc.wait_for(lambda s: len(s["submits"]) >= count // 4, timeout=40)
    finally:
        output = processes.stop(process, signal.SIGKILL, timeout=20)
    killed_at = time.monotonic()
    assert process.returncode == -signal.SIGKILL, output
    crashed = smsc.state()  # the SMSC lives on: its records are complete
    assert count // 4 <= len(crashed["submits"]) < count
    # The window was full at the kill: its claims are left "sending", under the dead
    # process's heartbeat holder.
    left = notifications(core, status="sending")
    assert left and {r.claimed_by for r in left} != {None}, output

    restarted = processes.start("sms", env)
    try:
        rows = until(lambda: all_sent(core, count), timeout=stale_age / 3)
        resent_after = time.monotonic() - killed_at
    finally:
        output = processes.stop(restarted, signal.SIGTERM, timeout=30)
    assert restarted.returncode == 0, output
    # At once (the dead process's pid is gone on this machine), not after the stale age.
    assert resent_after < stale_age / 4, resent_after
    assert "claimed by a sender that stopped are queued again" in output

    final = smsc.state()["submits"]
    seen = copies(final)
    assert set(seen) == {(d, t) for t, d in queued.items()}  # none lost
    duplicates = sum(n - 1 for n in seen.values())
    assert duplicates <= SLOTS_PER_WINDOW * window, seen  # claims held unrecorded
    assert all(n <= 2 for n in seen.values())
    # Each row carries the id of its last accepted copy (the one the restart recorded).
    last = {(s["destination_addr"], s["text"]): canonical_message_id(s["message_id"])
            for s in final if s["message_id"]}
    for row in rows:
        assert row.provider_message_id == last[(row.recipient.removeprefix("+"), row.body)]


def test_a_live_channels_claims_are_never_taken_by_another_channel(core, smsc, make_channel):
    # Two `gateway sms` on two machines, one bind each: the second's start and heartbeats
    # give back dead holders' claims, never the first's work in flight.
    # Its silent submits must not time out (and go back to the queue) while the test
    # runs, however slow the machine.
    first = make_channel(window=3, timings=replace(FAST, response_timeout=300.0))
    assert first.session.wait_bound(10)
    smsc.script(silent=True)  # nothing is answered: the first's claims stay in flight
    enqueue_many(core, 6, "live")
    in_flight = until(lambda: len(notifications(core, status="sending")) == 6
                      and notifications(core, status="sending"))
    assert {r.claimed_by for r in in_flight} == {first.heartbeat.holder}

    second = make_channel(window=3, start=False)
    second.dispatch.recover_orphaned_claims()
    second.start()
    second.dispatch.recover_orphaned_claims()  # as its loop does at every heartbeat interval

    after = notifications(core, status="sending")
    assert [(r.id, r.attempts, r.claimed_by) for r in after] == [
        (r.id, r.attempts, r.claimed_by) for r in in_flight]
