"""The e-mail channel against real servers: Dovecot holds the mailbox, aiosmtpd takes the
replies. Mail is delivered into the mailbox by IMAP APPEND, as another client would."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from channels.email.channel import LEASE, EmailChannel, Timings
from core.messaging import outbox
from core.messaging.models import MailboxCursor, Notification
from core.platform import leases
from core.platform.db import utcnow
from tests import factories as f
from tests.channels.email import mails
from tests.channels.email.conftest import OUR_ADDRESS, wait_for

NUMBER = "4471234"
UNKNOWN = "7654321"


@pytest.fixture
def registered(core):
    core.record_event(f.registered(NUMBER))
    return core


def deliver(dovecot, folder, *raws: bytes) -> None:
    for raw in raws:
        dovecot.append(folder, raw)


def run_once(channel: EmailChannel):
    report = channel.poll()
    channel.sender.send_due()
    return report


def flags(dovecot, folder) -> list[bytes]:
    return [flag for _, flag, _ in dovecot.messages(folder)]


def text_of(reply) -> str:
    return reply.get_body(preferencelist=("plain",)).get_content()


def html_of(reply) -> str:
    return reply.get_body(preferencelist=("html",)).get_content()


def email_rows(core) -> list[Notification]:
    with core.db.read() as session:
        return list(session.scalars(select(Notification)
                                    .where(Notification.channel == "email")
                                    .order_by(Notification.id)))  # PostgreSQL: heap order


def test_an_arabic_inquiry_is_answered_threaded_arabic_then_english(
        registered, channel, dovecot, folder, smtp):
    raw = mails.plain(f"السلام عليكم، ما حالة المعاملة رقم {NUMBER}؟",
                      subject="استعلام عن معاملة", message_id="<q1@mail.example.com>",
                      References="<earlier@mail.example.com>")
    deliver(dovecot, folder, raw)

    report = run_once(channel)

    assert report.stored == 1
    [reply] = smtp.messages()
    assert reply["To"] == f.EMAIL and reply["From"] == OUR_ADDRESS
    assert reply["Subject"] == "Re: استعلام عن معاملة / Transaction inquiry"  # fixed
    assert reply["In-Reply-To"] == "<q1@mail.example.com>"
    assert reply["References"] == "<earlier@mail.example.com> <q1@mail.example.com>"
    assert reply["Auto-Submitted"] == "auto-replied"
    assert reply["X-Auto-Response-Suppress"] == "All"
    assert reply["Message-ID"].endswith("@emirate.gov.sa>")
    text = text_of(reply)
    assert text.index(f"المعاملة رقم {NUMBER}") < text.index(f"Transaction {NUMBER}")
    assert "No transaction was found" not in text
    assert 'dir="rtl"' in html_of(reply) and 'lang="ar"' in html_of(reply)
    [flag] = flags(dovecot, folder)
    assert b"\\Seen" in flag
    [row] = email_rows(registered)
    assert row.status == "sent"


@pytest.mark.parametrize("raw", [
    mails.multipart(f"What is the status of transaction {NUMBER}?",
                    f"<p>What is the status of transaction <b>{NUMBER}</b>?</p>",
                    attachment=b"%PDF-1.4 5550001"),
    mails.html_only(f"<div dir='rtl'>حالة المعاملة&nbsp;{NUMBER}</div>"),
    mails.encoded_subject(f"استعلام عن المعاملة {NUMBER}", "شكرا لكم"),
    mails.plain(f"حالة المعاملة {NUMBER}", charset="cp1256"),
    mails.plain(f"حالة المعاملة {NUMBER}".translate(str.maketrans("0123456789",
                                                                  "٠١٢٣٤٥٦٧٨٩"))),
    mails.plain(f"Thanks, and {NUMBER}?\n\nOn Mon, 23 Nov 2026 Emirate "
                f"<{OUR_ADDRESS}> wrote:\n> Transaction {UNKNOWN}", subject="Re: status"),
], ids=["multipart-with-attachment", "html-only", "rfc2047-subject", "cp1256",
        "arabic-indic-digits", "quoted-reply"])
def test_real_world_mail_shapes_get_the_status(registered, channel, dovecot, folder, smtp,
                                               raw):
    deliver(dovecot, folder, raw)

    run_once(channel)

    [reply] = smtp.messages()
    text = text_of(reply)
    assert f"Transaction {NUMBER}" in text
    assert "No transaction was found" not in text
    assert UNKNOWN not in text  # the quoted history is not asked about


def test_a_stranger_gets_the_neutral_answer(registered, channel, dovecot, folder, smtp):
    deliver(dovecot, folder,
            mails.plain(f"status {NUMBER}", sender="stranger@else.example"),
            mails.plain(f"status {UNKNOWN}", sender="stranger@else.example"))

    run_once(channel)

    stranger, unknown = smtp.messages()
    # Every header, the MIME tree, the plain and the HTML part: nothing tells a number
    # that exists (and is someone else's) from one that does not.
    assert anatomy(stranger, NUMBER) == anatomy(unknown, UNKNOWN)
    assert "No transaction was found" in text_of(stranger)
    assert NUMBER in html_of(stranger)
    assert [m["To"] for m in smtp.messages()] == ["stranger@else.example"] * 2


PER_MESSAGE = {"message-id", "date", "in-reply-to", "references"}


def anatomy(reply, number: str) -> list[tuple[list[tuple[str, str]], str | None]]:
    """Each MIME part's headers (less the per-message ones) and content, in order, with
    ``number`` and the boundaries written the same way for every reply."""
    parts = []
    for part in reply.walk():
        boundary = part.get_boundary()
        headers = [(name.lower(), str(value).replace(boundary, "BOUNDARY") if boundary
                    else str(value)) for name, value in part.items()
                   if name.lower() not in PER_MESSAGE]
        content = None if part.is_multipart() else part.get_content()
        parts.append((headers, content))
    return [([(n, v.replace(number, "N")) for n, v in headers],
             content.replace(number, "N") if isinstance(content, str) else content)
            for headers, content in parts]


LOOP_SIGNALS = [
    {"Auto_Submitted": "auto-replied"},
    {"Auto_Submitted": "auto-generated"},
    {"Return_Path": "<>"},
    {"sender": "MAILER-DAEMON@mx.example.com"},
    {"sender": "postmaster@example.com"},
    {"sender": "citizens-request@lists.example.com"},
    {"sender": "owner-citizens@lists.example.com"},
    {"sender": "no-reply@bank.example"},
    {"Precedence": "bulk"},
    {"Precedence": "junk"},
    {"Precedence": "list"},
    {"Precedence": "auto_reply"},
    {"List_Id": "<citizens.lists.example.com>"},
    {"List_Unsubscribe": "<mailto:leave@lists.example.com>"},
    {"X_Autoreply": "yes"},
    {"X_Autorespond": "Out of office"},
    {"X_Auto_Response_Suppress": "All"},
    {"sender": OUR_ADDRESS},
]


def test_auto_replies_bounces_lists_and_ourselves_get_no_reply(
        registered, channel, dovecot, folder, smtp):
    raws = [mails.plain(f"status {NUMBER}", **signal) for signal in LOOP_SIGNALS]
    bounce = (b"From: MAILER-DAEMON@mx.example.com\r\nTo: inquiries@emirate.gov.sa\r\n"
              b"Subject: Undelivered\r\nMessage-ID: <dsn1@mx.example.com>\r\n"
              b"MIME-Version: 1.0\r\nContent-Type: multipart/report; "
              b"report-type=delivery-status; boundary=\"b\"\r\n\r\n--b\r\n"
              b"Content-Type: text/plain\r\n\r\n4471234 failed\r\n--b\r\n"
              b"Content-Type: message/delivery-status\r\n\r\nStatus: 5.1.1\r\n\r\n--b--\r\n")
    deliver(dovecot, folder, *raws, bounce)

    report = run_once(channel)

    assert report.stored == len(raws) + 1
    assert smtp.messages() == []
    assert email_rows(registered) == []
    assert all(b"\\Seen" in flag for flag in flags(dovecot, folder))


def test_the_same_mail_delivered_twice_gets_one_reply(registered, channel, dovecot, folder,
                                                      smtp):
    raw = mails.plain(f"status {NUMBER}")
    deliver(dovecot, folder, raw, raw)

    report = run_once(channel)
    run_once(channel)

    assert (report.stored, report.duplicates) == (1, 1)
    assert len(smtp.messages()) == 1


def test_a_crash_before_marking_read_answers_once_after_restart(
        registered, core, email_settings, dovecot, folder, smtp):
    deliver(dovecot, folder, mails.plain(f"status {NUMBER}"))
    before_crash = EmailChannel(core, email_settings)
    before_crash.poll()  # stored with its reply queued; then the process dies, unsent
    # The crash came before \Seen and the cursor: the mailbox still shows the mail unread.
    client = dovecot.client()
    client.select(f'"{folder}"')
    client.uid("STORE", "1:*", "-FLAGS", "(\\Seen)")
    client.logout()
    with core.db.write.begin() as session:
        session.execute(update(MailboxCursor).values(last_uid=0))
    leases.release(core.db, LEASE, before_crash.holder)

    after_restart = EmailChannel(core, email_settings)
    report = run_once(after_restart)
    run_once(after_restart)

    assert report.duplicates == 1
    assert len(smtp.messages()) == 1
    assert b"\\Seen" in flags(dovecot, folder)[0]


def test_a_reply_claimed_by_a_sender_that_died_is_sent_after_restart(
        registered, core, email_settings, dovecot, folder, smtp):
    deliver(dovecot, folder, mails.plain(f"status {NUMBER}"))
    EmailChannel(core, email_settings).poll()
    outbox.claim_due(core.db, channel="email", now=utcnow() - timedelta(hours=1))

    restarted = EmailChannel(core, email_settings)
    restarted.start()
    try:
        wait_for(lambda: smtp.messages())
    finally:
        restarted.stop()

    assert len(smtp.messages()) == 1


def test_a_malformed_mail_is_moved_aside_and_the_next_is_answered(
        registered, channel, email_settings, dovecot, folder, smtp):
    deliver(dovecot, folder, mails.malformed(), mails.plain(f"status {NUMBER}"))

    report = run_once(channel)

    assert report.moved_aside == 1 and report.stored == 1
    assert len(smtp.messages()) == 1
    [(_, _, moved)] = dovecot.messages(email_settings.imap.failed_folder)
    assert b"garbage" in moved
    assert len(dovecot.messages(folder)) == 1


def test_broken_mime_from_a_valid_sender_is_moved_aside_and_the_next_is_answered(
        registered, channel, email_settings, dovecot, folder, smtp):
    deliver(dovecot, folder, mails.broken_mime(subject=f"status {NUMBER}"),
            mails.plain(f"status {NUMBER}", sender="other@else.example"))

    report = run_once(channel)

    assert report.moved_aside == 1 and report.stored == 1
    assert [m["To"] for m in smtp.messages()] == ["other@else.example"]
    [(_, _, moved)] = dovecot.messages(email_settings.imap.failed_folder)
    assert b"From: applicant@example.com" in moved and b"garbage" in moved
    [(_, flag, _)] = dovecot.messages(folder)
    assert b"\\Seen" in flag


def test_smtp_down_then_back_the_reply_waits_in_the_outbox(
        registered, channel, dovecot, folder, smtp):
    deliver(dovecot, folder, mails.plain(f"status {NUMBER}"))
    smtp.stop()

    run_once(channel)

    [row] = email_rows(registered)
    assert row.status == "pending" and row.last_error and row.attempts == 1
    smtp.start()
    channel.sender.send_due(now=utcnow() + timedelta(hours=2))
    assert len(smtp.messages()) == 1
    [row] = email_rows(registered)
    assert row.status == "sent"


def test_a_recipient_refused_for_good_is_recorded_failed(registered, channel, dovecot,
                                                         folder, smtp):
    smtp.refuse[f.EMAIL] = "550 5.1.1 No such user"
    deliver(dovecot, folder, mails.plain(f"status {NUMBER}"))

    deliver(dovecot, folder, mails.plain(f"status {NUMBER}", sender="other@else.example"))

    run_once(channel)

    refused, other = email_rows(registered)
    assert refused.status == "failed" and "550" in refused.last_error
    assert other.status == "sent"  # the refusal held up nothing behind it
    assert [m["To"] for m in smtp.messages()] == ["other@else.example"]


def test_an_oversized_mail_gets_a_polite_refusal(registered, channel, email_settings,
                                                 dovecot, folder, smtp):
    big = mails.multipart(f"status {NUMBER}", "<p>status</p>",
                          attachment=b"x" * (email_settings.max_message_bytes + 1))
    deliver(dovecot, folder, big)

    run_once(channel)

    [reply] = smtp.messages()
    assert "too large" in text_of(reply)
    assert NUMBER not in text_of(reply)


def test_only_one_poller_reads_the_mailbox(registered, core, email_settings, dovecot, folder,
                                           smtp):
    first, second = EmailChannel(core, email_settings), EmailChannel(core, email_settings)
    deliver(dovecot, folder, mails.plain(f"status {NUMBER}"))

    assert first.poll().stored == 1
    assert second.poll().held_by_other
    assert leases.current(core.db)[LEASE].holder == first.holder


def test_a_new_uidvalidity_reads_the_unread_mail_again_without_second_replies(
        registered, channel, core, dovecot, folder, smtp):
    deliver(dovecot, folder, mails.plain(f"status {NUMBER}"))
    run_once(channel)
    with core.db.write.begin() as session:
        session.execute(update(MailboxCursor).values(uidvalidity=1, last_uid=99))
    # A rebuilt folder keeps no flags for sure: the answered mail is unread again.
    client = dovecot.client()
    client.select(f'"{folder}"')
    client.uid("STORE", "1:*", "-FLAGS", "(\\Seen)")
    client.logout()
    deliver(dovecot, folder, mails.plain(f"again {NUMBER}"))

    report = run_once(channel)

    assert (report.stored, report.duplicates) == (1, 1)  # the first is read again, known
    assert len(smtp.messages()) == 2  # no second reply to the first mail
    assert all(b"\\Seen" in flag for flag in flags(dovecot, folder))


def test_the_running_channel_answers_and_stops_cleanly(registered, channel, dovecot, folder,
                                                       smtp):
    stop = threading.Event()
    runner = threading.Thread(target=channel.run_until, args=(stop,))
    runner.start()
    try:
        deliver(dovecot, folder, mails.plain(f"status {NUMBER}"))
        wait_for(lambda: smtp.messages())
    finally:
        stop.set()
        runner.join(30)

    assert not runner.is_alive()
    assert len(smtp.messages()) == 1


def test_idle_answers_new_mail_without_waiting_for_the_next_poll(
        registered, core, email_settings, dovecot, folder, smtp):
    email_settings.imap.poll_seconds = 3600
    channel = EmailChannel(core, email_settings, timings=Timings(tick_seconds=1))
    channel.start()
    try:
        wait_for(lambda: channel.idling)  # first poll done, now in IDLE
        deliver(dovecot, folder, mails.plain(f"status {NUMBER}"))
        wait_for(lambda: smtp.messages())
    finally:
        channel.stop()

    assert len(smtp.messages()) == 1


def test_healthz_shows_the_mailbox_pollers_heartbeat(registered, settings, channel, dovecot,
                                                     folder, smtp):
    from gateway.app import create_app

    settings.email.enabled = True
    channel.poll()
    app = create_app(settings, registered)

    body = app.test_client().get("/healthz").get_json()

    assert body["email"]["poller"] == channel.holder
    assert body["email"]["live"] is True and body["email"]["polled_at"]


def test_a_mailbox_that_cannot_be_reached_is_reported_not_raised_past_the_adapter(
        registered, core, email_settings, smtp):
    from channels.email.mailbox import MailboxUnavailable
    from tests.peers.smtp_peer import _free_port

    email_settings.imap.port = _free_port()  # nothing listens there

    with pytest.raises(MailboxUnavailable):
        EmailChannel(core, email_settings).poll()


def test_the_applicants_national_id_from_another_address_gets_the_status_in_one_reply(
        registered, channel, dovecot, folder, smtp):
    deliver(dovecot, folder, mails.plain(
        f"أسأل عن معاملة والدي {NUMBER} والمعاملة {UNKNOWN}\nرقم هويته: {f.NATIONAL_ID}",
        sender="son@family.example"))

    run_once(channel)

    [reply] = smtp.messages()
    text = text_of(reply)
    assert reply["To"] == "son@family.example"
    assert text.count("No transaction was found") == 1  # the unknown number only
    assert f"Transaction {NUMBER}" in text and f"Transaction {UNKNOWN}" in text
    assert f.NATIONAL_ID not in text


def test_a_notification_by_email_is_sent_as_news_not_as_a_reply(core, email_settings,
                                                                 database_url, tmp_path, smtp):
    from gateway.bootstrap import build_core
    from tests.conftest import make_settings

    notifying = build_core(make_settings(database_url, tmp_path, email={
        "enabled": True, "notifications": True}), background_log=False)
    try:
        notifying.record_event(f.registered(NUMBER))
        EmailChannel(notifying, email_settings).sender.send_due()
    finally:
        notifying.close()

    [message] = smtp.messages()
    assert message["Subject"] == "تسجيل معاملة / Transaction registered"
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["In-Reply-To"] is None
    assert text_of(message).index("تم تسجيل") < text_of(message).index("was registered")
    assert 'dir="rtl"' in html_of(message)


@pytest.mark.parametrize("tls", ["starttls", "ssl"])
def test_replies_go_over_tls_as_configured(registered, core, email_settings, dovecot, folder,
                                           tmp_path, monkeypatch, tls):
    from tests.peers.smtp_peer import SmtpPeer, self_signed_certificate

    certificate = self_signed_certificate(tmp_path)
    # The operator's way to trust a private CA; here the test's own certificate.
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate[0]))
    with SmtpPeer(tls=tls, certificate=certificate) as secure:
        email_settings.smtp = email_settings.smtp.model_copy(update={
            "port": secure.port, "ssl": tls == "ssl", "starttls": tls == "starttls"})
        deliver(dovecot, folder, mails.plain(f"status {NUMBER}"))

        run_once(EmailChannel(core, email_settings))

        [reply] = secure.messages()
    assert f"Transaction {NUMBER}" in text_of(reply)
    [row] = email_rows(core)
    assert row.status == "sent"


def test_the_mailbox_is_read_over_tls(registered, core, email_settings, smtp, tmp_path,
                                      monkeypatch):
    from tests.peers.dovecot_peer import DovecotPeer
    from tests.peers.smtp_peer import self_signed_certificate

    certificate = self_signed_certificate(tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate[0]))
    with DovecotPeer(certificate=certificate) as secure:
        secure.append("INBOX", mails.plain(f"status {NUMBER}"))
        email_settings.imap = email_settings.imap.model_copy(update={
            "port": secure.port, "ssl": True, "folder": "INBOX"})

        report = run_once(EmailChannel(core, email_settings))

    assert report.stored == 1
    assert len(smtp.messages()) == 1


def test_a_first_start_reads_the_unread_mail_then_everything_new_by_uid(
        registered, channel, core, dovecot, folder, smtp):
    dovecot.append(folder, mails.plain(f"old, read {NUMBER}"), flags="\\Seen")
    dovecot.append(folder, mails.plain(f"unread {NUMBER}"))

    first = run_once(channel)
    # A new mail someone opened before the gateway saw it is still answered.
    dovecot.append(folder, mails.plain(f"new, already opened {NUMBER}"), flags="\\Seen")
    second = run_once(channel)

    assert (first.stored, second.stored) == (1, 1)
    assert len(smtp.messages()) == 2
    assert cursor_of(core, folder).last_uid == 3



def cursor_of(core, folder) -> MailboxCursor:
    with core.db.read() as session:
        return session.scalars(select(MailboxCursor)
                               .where(MailboxCursor.mailbox.endswith("/" + folder))).one()


def test_metrics_count_mails_and_replies_by_outcome(registered, channel, dovecot, folder,
                                                    smtp):
    from prometheus_client import REGISTRY

    def value(name, result):
        return REGISTRY.get_sample_value(f"gateway_email_{name}_total", {"result": result})

    before = {key: value(*key) for key in [("mails", "answered"), ("mails", "ignored"),
                                           ("mails", "moved_aside"), ("replies", "sent")]}
    deliver(dovecot, folder, mails.plain(f"status {NUMBER}"),
            mails.plain(f"status {NUMBER}", Precedence="bulk"), mails.malformed())

    run_once(channel)

    assert {key: value(*key) - before[key] for key in before} == {
        ("mails", "answered"): 1, ("mails", "ignored"): 1, ("mails", "moved_aside"): 1,
        ("replies", "sent"): 1}
