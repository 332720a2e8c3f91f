"""The SMS channel against a real SMSC (node-smpp): inquiries in, answers and notifications
out, receipts applied, errors retried or recorded, and the bind kept up."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import select

from channels.sms.channel import SmsChannel, Timings
from channels.sms.encoding import sms_parts
from channels.sms.receipts import canonical_message_id
from channels.sms.settings import SmppSettings, SmsSettings
from core.messaging import outbox
from core.messaging.models import InboundMessage, Notification
from core.transactions import render
from core.transactions.inquiry import InquiryRequest
from tests import factories as f
from tests.peers.smsc_peer import ESME_RTHROTTLED, ESME_RX_T_APPN

NUMBER = "4471234"
APPLICANT = "966551234567"  # f.MOBILE as the SMSC writes it
STRANGER = "966501239876"
ESME_RINVDSTADR = 0x0B

FAST = Timings(poll_interval=0.05, retry_backoff=0.2, retry_backoff_max=1.0,
               reconnect_delay=0.2, reconnect_max=1.0, response_timeout=5.0,
               receipt_hold=3.0)


@pytest.fixture
def reference(core):
    core.upsert_department("RIGHTS", f.department())
    core.upsert_agency("MOI", f.agency())
    core.upsert_employee("E1", f.employee())
    return core


@pytest.fixture
def channel(reference, smsc):
    sms = SmsSettings(enabled=True, smpp=SmppSettings(
        host=smsc.host, port=smsc.port, system_id=smsc.system_id, password=smsc.password,
        window=10, throughput_per_second=500))
    channel = SmsChannel(reference, sms, timings=FAST)
    channel.start()
    assert channel.session.wait_bound(10)
    yield channel
    channel.stop()


def until(predicate: Callable[[], object], timeout: float = 15.0) -> object:
    """Poll the database until ``predicate()`` is truthy."""
    deadline = time.monotonic() + timeout
    while not (result := predicate()):
        assert time.monotonic() < deadline, "the database did not reach the expected state"
        time.sleep(0.02)
    return result


def notifications(core, **where) -> list[Notification]:
    with core.db.read() as session:
        query = select(Notification).order_by(Notification.id)
        for name, value in where.items():
            query = query.where(getattr(Notification, name) == value)
        return list(session.scalars(query))


def inbound(core) -> list[InboundMessage]:
    with core.db.read() as session:
        return list(session.scalars(select(InboundMessage).order_by(InboundMessage.id)))


def register(core, number: str = NUMBER) -> Notification:
    """Register a transaction; its SMS to the applicant."""
    core.record_event(f.registered(number, "2026-11-23T09:15:00+03:00"))
    [message] = [n for n in notifications(core, kind="registration")
                 if n.recipient == f.MOBILE_E164 and number in n.body]
    return message


def settled(core) -> list[Notification] | None:
    """Every SMS, once none is pending or being sent."""
    rows = notifications(core, channel="sms")
    return rows if rows and all(n.status not in ("pending", "sending") for n in rows) else None


def accepted(state, body: str) -> list[dict]:
    """The accepted submits of ``body``: the message, or its first segment per copy."""
    return [s for s in state["submits"] if s["message_id"] and (
        s["text"] == body or (s["udh"].endswith("01") and s["text"]
                              and body.startswith(s["text"])))]


def tries(state, body: str) -> list[int]:
    """The statuses of every submit of ``body`` (its first segment when it has several)."""
    return [s["status"] for s in state["submits"] if s["text"] == body or (
        s["udh"].endswith("01") and s["text"] and body.startswith(s["text"]))]


def status_text(core) -> str:
    answer = core.inquire(InquiryRequest(channel="api", number_text=NUMBER, mobile=f.MOBILE))
    return render.sms_text(answer, "ar", core.config.tz)


# --- inquiries ---------------------------------------------------------------------------


def test_an_arabic_inquiry_from_the_applicants_mobile_gets_its_status_in_ucs2(
        channel, reference, smsc):
    register(reference)
    expected = status_text(reference)

    smsc.send_mo("استعلام ٤٤٧١٢٣٤", source_addr=APPLICANT)

    [answer] = smsc.wait_for(lambda s: accepted(s, expected))
    assert answer["data_coding"] == 8 and answer["destination_addr"] == APPLICANT
    assert bytes.fromhex(answer["short_message"]) == expected.encode("utf-16-be")
    assert answer["source_addr"] == "74747" and answer["registered_delivery"] == 1
    [row] = until(lambda: [m for m in inbound(reference) if m.status == "answered"])
    assert (row.sender, row.text) == (f.MOBILE_E164, "استعلام ٤٤٧١٢٣٤")
    [reply] = until(lambda: notifications(reference, kind="answer", status="sent"))
    assert reply.provider_message_id == canonical_message_id(answer["message_id"])
    assert [r["status"] for r in smsc.state()["deliver_sm_resps"]] == [0]


def test_the_loop_claims_once_a_poll_interval_not_at_every_answer(reference, smsc):
    # An idle outbox is looked at once a poll interval. A claim made at every wake-up (each
    # answer recorded) would find nothing, and would hold every free slot while it
    # commits, so that inquiries arriving meanwhile are answered the long way.
    sms = SmsSettings(enabled=True, smpp=SmppSettings(
        host=smsc.host, port=smsc.port, system_id=smsc.system_id, password=smsc.password))
    channel = SmsChannel(reference, sms, timings=replace(FAST, poll_interval=5.0))
    claims = []
    original = outbox.mark_sent_and_claim

    def counted(*args, **kwargs):
        if kwargs["limit"] > 0:
            claims.append(kwargs["limit"])
        return original(*args, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(outbox, "mark_sent_and_claim", counted)
        channel.start()
        try:
            assert channel.session.wait_bound(10)
            for k in range(10):
                sender = f"+9665510000{k:02d}"
                smsc.send_mo("استعلام ٤٤٧١٢٣٤", source_addr=sender)
                until(lambda s=sender: [a for a in notifications(
                    reference, kind="answer", status="sent") if a.recipient == s])
        finally:
            channel.stop()

    # The start's claim, and one more should the first answer have come during it.
    assert len(claims) <= 2


def test_an_answer_jumps_a_backlog_of_notifications_queued_for_the_window(reference, smsc):
    # Ten segments a second, three in flight: the claim slots (4 x window) hold twelve
    # notifications, most of them queued in the session when the inquiry comes.
    window = 3
    sms = SmsSettings(enabled=True, smpp=SmppSettings(
        host=smsc.host, port=smsc.port, system_id=smsc.system_id, password=smsc.password,
        window=window, throughput_per_second=10))
    with reference.db.write.begin() as session:
        for k in range(60):
            outbox.enqueue(session, cause_key=f"bulk:{k}", kind="registration",
                           audience="citizen", recipient=f"+96655{k:07d}", language="en",
                           body=f"bulk notice {k:02d}")
    channel = SmsChannel(reference, sms, timings=FAST)
    channel.start()
    try:
        smsc.wait_for(lambda s: len(s["submits"]) >= 5, timeout=15)
        [mo] = smsc.send_mo("حالة ٤٤٧١٢٣٤", source_addr=STRANGER)
        [answer] = smsc.wait_for(lambda s: accepted(s, render.not_found_text("ar")),
                                 timeout=15)
    finally:
        channel.stop()

    submits = smsc.submits()
    # Counted from when the answer was queued, not from the MO's arrival: on a slow
    # machine, storing the MO may take a while, and the backlog rightly goes on meanwhile.
    [reply] = notifications(reference, kind="answer")
    queued_at = reply.created_at.timestamp()
    ahead = [s for s in submits[:submits.index(answer)] if s["at"] > queued_at]
    assert mo["at"] <= queued_at + 1.0  # the same clock (wall time), near enough
    # The window's submits in flight, and those the loop claimed with the answer: not
    # the claim slots' backlog queued in front of it.
    assert len(ahead) <= 2 * window, [s["text"] for s in ahead]
    assert len([s for s in submits if s["text"].startswith("bulk")]) < 60  # not drained


def test_an_inquiry_from_another_mobile_gets_the_not_found_text(channel, reference, smsc):
    register(reference)

    smsc.send_mo("استعلام ٤٤٧١٢٣٤", source_addr=STRANGER)

    [answer] = smsc.wait_for(lambda s: accepted(s, render.not_found_text("ar")))
    assert answer["destination_addr"] == STRANGER and NUMBER not in answer["text"]


def test_a_two_part_inquiry_is_stored_once_joined(channel, reference, smsc):
    text = "استعلام " * 9 + "٤٤٧١٢٣٤"
    smsc.send_mo(text, source_addr=APPLICANT, split="udh", reverse_parts=True)

    [row] = until(lambda: inbound(reference))
    assert row.text == text
    resps = smsc.wait_for(lambda s: len(s["deliver_sm_resps"]) == 2 and s["deliver_sm_resps"])
    assert [r["status"] for r in resps] == [0, 0]


def test_an_inquiry_that_cannot_be_stored_is_refused_temporarily_then_stored_once(
        channel, reference, smsc, monkeypatch):
    def broken(_messages, **_kwargs):
        raise RuntimeError("database down")

    monkeypatch.setattr(channel.inbound.short_code, "receive_and_answer", broken)
    smsc.send_mo("حالة 4471234", source_addr=APPLICANT)
    [refused] = smsc.wait_for(lambda s: s["deliver_sm_resps"])
    assert refused["status"] == ESME_RX_T_APPN
    assert inbound(reference) == []

    monkeypatch.undo()
    smsc.send_mo("حالة 4471234", source_addr=APPLICANT)  # the SMSC's redelivery
    smsc.send_mo("حالة 4471234", source_addr=APPLICANT)  # and a second one

    resps = smsc.wait_for(lambda s: len(s["deliver_sm_resps"]) == 3 and s["deliver_sm_resps"])
    assert [r["status"] for r in resps] == [ESME_RX_T_APPN, 0, 0]
    [row] = until(lambda: [m for m in inbound(reference) if m.status == "answered"])
    assert len(inbound(reference)) == 1 and row.text == "حالة 4471234"


# --- notifications and receipts ----------------------------------------------------------


@pytest.mark.parametrize(("id_style", "receipt_format"), [
    ("decimal", "as_sent"), ("hex", "hex_lower"), ("hex", "decimal"), ("decimal", "hex"),
    ("hex", "unpadded"),
])
def test_a_notification_is_sent_then_delivered_when_its_receipt_comes(
        channel, reference, smsc, id_style, receipt_format):
    smsc.script(message_id_style=id_style)
    message = register(reference)

    [submit] = smsc.wait_for(lambda s: accepted(s, message.body))
    [sent] = until(lambda: notifications(reference, id=message.id, status="sent"))
    assert sent.provider_message_id.split()[0] == canonical_message_id(submit["message_id"])

    smsc.send_receipt(submit=smsc.submits().index(submit), id_format=receipt_format)

    [done] = until(lambda: notifications(reference, id=message.id, status="delivered"))
    assert done.delivered_at is not None


def test_a_receipt_before_its_submit_sm_resp_is_applied_after_mark_sent(
        channel, reference, smsc):
    smsc.script(auto_receipt="before", message_id_style="hex", receipt_id_format="hex_lower")
    message = register(reference)

    [done] = until(lambda: notifications(reference, id=message.id, status="delivered"))

    [submit] = accepted(smsc.state(), message.body)
    assert done.provider_message_id.split()[0] == canonical_message_id(submit["message_id"])


def test_a_receipt_missed_while_its_message_was_being_recorded_is_applied(
        channel, reference, smsc):
    # The receipt and the submit_sm_resp come in one read: the loop records the message
    # as sent, and tries the held receipts, while the session thread is still looking
    # the receipt up; the receipt is held only after. It must not wait for another send.
    smsc.script(auto_receipt="before")
    look_up, try_held = channel.receipts.mark_delivered, channel.receipts.apply_held
    tried = threading.Event()

    def late_lookup(receipts, last_try=None):
        matched = look_up(receipts, last_try)
        if threading.current_thread().name != "sms-channel" and not all(matched):
            tried.wait(5)
        return matched

    def tried_held():
        try_held()
        tried.set()

    channel.receipts.mark_delivered, channel.receipts.apply_held = late_lookup, tried_held
    message = register(reference)

    [done] = until(lambda: notifications(reference, id=message.id, status="delivered"))
    assert done.delivered_at is not None


def _sent_with_id(core, smsc, cause: str, message_id: int) -> Notification:
    """A notification the SMSC accepts under the decimal id ``message_id``, once sent."""
    smsc.script(message_id_start=message_id)
    with core.db.write.begin() as session:
        message = outbox.enqueue(session, cause_key=cause, kind="registration",
                                 audience="citizen", recipient="+966551234567",
                                 language="en", body=f"notice {cause}")
    [row] = until(lambda: notifications(core, id=message.id, status="sent"))
    assert row.provider_message_id == str(message_id)
    return row


def test_a_repeated_receipt_for_a_delivered_message_never_fails_another(
        channel, reference, smsc):
    # A is 41459 and delivered; B is 267353, which is "41459" read as hex, and sent.
    a = _sent_with_id(reference, smsc, "a", 41459)
    smsc.send_receipt("41459")
    until(lambda: notifications(reference, id=a.id, status="delivered"))
    b = _sent_with_id(reference, smsc, "b", 267353)

    smsc.send_receipt("41459", stat="UNDELIV", err="001")  # A's receipt, once more
    smsc.wait_for(lambda s: len(s["deliver_sm_resps"]) == 2)
    time.sleep(4 * FAST.receipt_hold / 3)  # past the hold: no last try may find B either

    assert notifications(reference, id=a.id)[0].status == "delivered"
    assert notifications(reference, id=b.id)[0].status == "sent"
    assert channel.receipts.held == []


def test_a_receipt_before_its_submit_sm_resp_never_marks_another_reading_of_its_id(
        channel, reference, smsc):
    b = _sent_with_id(reference, smsc, "b", 267353)
    # A's UNDELIV receipt comes before A's submit_sm_resp, under A's id 41459.
    smsc.script(message_id_start=41459, auto_receipt="before", receipt_stat="UNDELIV")
    with reference.db.write.begin() as session:
        a = outbox.enqueue(session, cause_key="a", kind="registration", audience="citizen",
                           recipient="+966551234567", language="en", body="notice a")

    [failed] = until(lambda: notifications(reference, id=a.id, status="failed"))

    assert "UNDELIV" in failed.last_error
    time.sleep(4 * FAST.receipt_hold / 3)
    assert notifications(reference, id=b.id)[0].status == "sent"


def test_an_undelivered_receipt_marks_the_message_failed(channel, reference, smsc):
    message = register(reference)
    [submit] = smsc.wait_for(lambda s: accepted(s, message.body))
    until(lambda: notifications(reference, id=message.id, status="sent"))

    smsc.send_receipt(submit=smsc.submits().index(submit), stat="UNDELIV", err="001")

    [failed] = until(lambda: notifications(reference, id=message.id, status="failed"))
    assert "UNDELIV" in failed.last_error


def test_a_throttled_submit_is_retried_and_sent_once(channel, reference, smsc):
    smsc.script(next_submit_statuses=[ESME_RTHROTTLED])
    message = register(reference)

    [sent] = until(lambda: notifications(reference, id=message.id, status="sent"))

    assert tries(smsc.state(), message.body) == [ESME_RTHROTTLED, 0]
    assert sent.attempts == 2 and sent.last_error is None


def test_a_throttled_part_of_a_long_message_is_the_only_part_sent_again(
        channel, reference, smsc):
    smsc.script(next_submit_statuses=[0, ESME_RTHROTTLED])  # part 1 accepted, part 2 not
    body = "تم تسجيل معاملتكم وسيتم إشعاركم برسالة نصية عند كل مرحلة من مراحلها. " * 3
    with reference.db.write.begin() as session:
        message = outbox.enqueue(session, cause_key="test:long", kind="registration",
                                 audience="citizen", recipient="+966551234567",
                                 language="ar", body=body)
    parts = len(sms_parts(body, 0))
    assert parts >= 3

    [sent] = until(lambda: notifications(reference, id=message.id, status="sent"))

    submits = [s for s in smsc.state()["submits"] if s["destination_addr"] == "966551234567"]
    numbers = [int(s["udh"][10:12], 16) for s in submits]
    assert numbers == [*range(1, parts + 1), 2]  # only part 2 again
    accepted_ids = {int(s["udh"][10:12], 16): canonical_message_id(s["message_id"])
                    for s in submits if s["status"] == 0}
    assert sent.provider_message_id.split() == [accepted_ids[k] for k in range(1, parts + 1)]
    assert sent.attempts == 2 and sent.last_error is None


def _long_message(core, cause: str):
    body = "تم تسجيل معاملتكم وسيتم إشعاركم برسالة نصية عند كل مرحلة من مراحلها. " * 3
    with core.db.write.begin() as session:
        return outbox.enqueue(session, cause_key=cause, kind="registration",
                              audience="citizen", recipient="+966551234567",
                              language="ar", body=body)


def test_receipts_for_later_parts_are_ignored_not_held_and_the_first_part_delivers(
        channel, reference, smsc):
    message = _long_message(reference, "test:receipts")
    until(lambda: notifications(reference, id=message.id, status="sent"))
    submits = [s for s in smsc.state()["submits"] if s["destination_addr"] == "966551234567"]
    assert len(submits) >= 3

    for later in submits[1:]:  # an SMSC reports every part it was asked about
        smsc.send_receipt(submit=smsc.submits().index(later))
    smsc.wait_for(lambda s: len(s["deliver_sm_resps"]) == len(submits) - 1)
    assert channel.receipts.held == []  # nothing kept to retry, no scan of the outbox for them

    smsc.send_receipt(submit=smsc.submits().index(submits[0]))
    [done] = until(lambda: notifications(reference, id=message.id, status="delivered"))
    assert done.delivered_at is not None


def test_an_undelivered_later_part_fails_a_message_its_first_part_delivered(
        channel, reference, smsc):
    message = _long_message(reference, "test:part-undelivered")
    until(lambda: notifications(reference, id=message.id, status="sent"))
    first, second, *_ = [s for s in smsc.state()["submits"]
                         if s["destination_addr"] == "966551234567"]
    smsc.send_receipt(submit=smsc.submits().index(first))
    until(lambda: notifications(reference, id=message.id, status="delivered"))

    smsc.send_receipt(submit=smsc.submits().index(second), stat="UNDELIV", err="034")

    [failed] = until(lambda: notifications(reference, id=message.id, status="failed"))
    assert failed.last_error == "delivery receipt for part 2: UNDELIV err:034"
    assert failed.delivered_at is None


def test_parts_accepted_without_an_id_are_sent_once_not_retried(channel, reference, smsc):
    smsc.script(message_id_style="empty")  # ESME_ROK with an empty message_id
    message = _long_message(reference, "test:noid")

    [sent] = until(lambda: notifications(reference, id=message.id, status="sent"))

    parts = [s for s in smsc.state()["submits"] if s["destination_addr"] == "966551234567"]
    assert sent.attempts == 1 and len(parts) == len(set(s["udh"] for s in parts))
    assert sent.provider_message_id.startswith(f"noid-{message.id}-0")


def test_claims_a_dead_sender_left_are_sent_by_a_running_channel_within_the_minute(
        reference, smsc):
    ahead = [0.0]  # the channel's clock: the real one, moved on by hand
    channel = SmsChannel(reference, SmsSettings(enabled=True, smpp=SmppSettings(
        host=smsc.host, port=smsc.port, system_id=smsc.system_id, password=smsc.password,
        window=10, throughput_per_second=500)), timings=FAST,
        clock=lambda: time.monotonic() + ahead[0])
    channel.start()
    try:
        assert channel.session.wait_bound(10)
        message = _long_message(reference, "test:stale")
        [row] = until(lambda: notifications(reference, id=message.id, status="sent"))
        parts = len(_to_the_phone(smsc))
        assert parts >= 2  # a long message: every part is resent, once
        # As if a sender that names no holder claimed it and died.
        with reference.db.write.begin() as session:
            stale = session.get(Notification, message.id)
            stale.status, stale.claimed_at = "sending", row.created_at - timedelta(hours=1)
            stale.claimed_by = None
        channel._work.set()
        time.sleep(0.5)  # the loop runs on: the last look at start is under a minute old
        assert notifications(reference, id=message.id)[0].status == "sending"

        ahead[0] += 60.0  # the minute passes, on the channel's own clock
        channel._work.set()
        until(lambda: notifications(reference, id=message.id, status="sent"))
        time.sleep(0.5)  # and no further copy follows
        assert len(_to_the_phone(smsc)) == 2 * parts  # sent again once, by this channel
    finally:
        channel.stop()


def _to_the_phone(smsc) -> list[dict]:
    return [s for s in smsc.submits() if s["destination_addr"] == "966551234567"]


def test_a_permanent_error_is_recorded_as_failed_with_its_reason(channel, reference, smsc):
    smsc.script(next_submit_statuses=[ESME_RINVDSTADR])
    message = register(reference)

    [failed] = until(lambda: notifications(reference, id=message.id, status="failed"))

    assert "ESME_RINVDSTADR" in failed.last_error
    assert tries(smsc.state(), message.body) == [ESME_RINVDSTADR]


# --- staying up --------------------------------------------------------------------------


def test_the_smscs_unbind_is_answered_and_the_session_binds_again(channel, reference, smsc):
    smsc.unbind()

    assert smsc.wait_for(lambda s: s["unbind_resps"]) == [{"session": 1, "status": 0}]
    smsc.wait_for(lambda s: [b for b in s["binds"] if b["status"] == 0 and b["session"] > 1])
    message = register(reference)
    [submit] = smsc.wait_for(lambda s: accepted(s, message.body))
    assert submit["session"] > 1


def test_a_dropped_connection_reconnects_without_losing_or_duplicating_messages(
        channel, reference, smsc):
    # The SMSC records the first submit, then resets the connection without answering it.
    smsc.script(drop_on_next_submits=1)
    register(reference, "4471234")
    reference.record_event(f.registered("5550001", "2026-11-23T09:15:00+03:00",
                                        national_id=f.OTHER_NATIONAL_ID,
                                        mobile=f.OTHER_MOBILE, email="other@example.com"))

    rows = until(lambda: settled(reference), timeout=20)

    assert {n.status for n in rows} == {"sent"}
    state = smsc.state()
    assert state["disconnects"] and len([b for b in state["binds"] if b["status"] == 0]) >= 2
    for row in rows:
        assert len(accepted(state, row.body)) == 1, row.body
    # The one submit the SMSC never answered went out again: at most one duplicate.
    assert sum(len(tries(state, row.body)) for row in rows) == len(rows) + 1
