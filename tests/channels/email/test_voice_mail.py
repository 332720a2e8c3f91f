"""Citizen's Voice by e-mail against the real peers: Dovecot holds the mailbox, aiosmtpd
takes what we send. A citizen files a complaint by mail, is asked for more and answers
in the thread, receives the answer in the thread, rates it and reopens the case; a
stranger and a forged sender change nothing and learn nothing."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from core.messaging.models import EmailExchange, InboundMessage, Notification
from core.voice.actions import CitizenProof
from core.voice.models import VoiceCase
from core.voice.tracking import new_tracking
from tests.channels.email import mails
from tests.channels.email.conftest import OUR_ADDRESS
from tests.channels.email.test_channel import deliver, run_once, text_of
from tests.core.voice.conftest import EMIRATE, build_world, cases
from tests.core.voice.conftest import world as world  # noqa: F401  (the fixture)

VOICE = "voice@emirate.gov.sa"
CITIZEN = "sara@citizen.example"
STRANGER = "stranger@else.example"
PROOF = CitizenProof(email=CITIZEN)


@pytest.fixture
def voice_channel(core, email_settings):
    from channels.email.channel import EmailChannel

    email_settings.voice_address = VOICE
    return EmailChannel(core, email_settings)


def notes(core) -> list[str | None]:
    with core.db.read() as session:
        return list(session.scalars(select(EmailExchange.note)
                                    .order_by(EmailExchange.inbound_id)))


def new_messages(smtp, seen: int):
    return smtp.messages()[seen:]


def test_the_whole_case_by_email_in_one_thread(world, core, voice_channel, dovecot, folder,
                                               smtp):
    first_id = "<complaint-1@citizen.example>"
    deliver(dovecot, folder, mails.plain(
        "الإنارة معطلة في شارع الملك فهد منذ أسبوع.\n\n-- \nسارة",
        sender=CITIZEN, to=VOICE, subject="شكوى: الإنارة", message_id=first_id))

    run_once(voice_channel)

    [case] = cases(core)
    assert (case.channel, case.case_type, case.citizen_email, case.language) == \
        ("email", "complaint", CITIZEN, "ar")
    assert case.text == "الإنارة\n\nالإنارة معطلة في شارع الملك فهد منذ أسبوع."  # no signature
    [ack] = smtp.messages()
    assert ack["To"] == CITIZEN and ack["From"] == VOICE
    assert ack["In-Reply-To"] == first_id and ack["References"] == first_id
    assert ack["Subject"] == "Re: صوت المواطن: تم استلام طلبك / Citizen's Voice: your " \
                             "request was received"  # fixed: the citizen's never echoed
    assert case.tracking in text_of(ack)

    # Staff ask for more; the question arrives in the thread.
    coordinator, specialist = world.coordinator(EMIRATE), world.specialist(EMIRATE)
    core.voice.act(coordinator, case.tracking, {"action": "assign",
                                                "user": specialist.login})
    core.voice.act(specialist, case.tracking, {"action": "start"})
    core.voice.act(specialist, case.tracking, {"action": "request_info",
                                               "text": "أي جزء من الشارع؟"})
    voice_channel.sender.send_due()
    [question] = new_messages(smtp, 1)
    assert question["In-Reply-To"] == first_id
    assert "أي جزء من الشارع؟" in text_of(question)

    # The citizen answers in the thread: the case resumes.
    deliver(dovecot, folder, mails.plain(
        "عند التقاطع مع شارع العليا.\n\nفي 5 ديسمبر 2026 كتب صوت المواطن:\n> أي جزء؟",
        sender=CITIZEN, to=VOICE, subject="Re: صوت المواطن",
        message_id="<reply-1@citizen.example>", In_Reply_To=question["Message-ID"],
        References=f"{first_id} {question['Message-ID']}"))
    run_once(voice_channel)
    view = core.voice.citizen_view(case.tracking, PROOF)
    assert view.state == "in_progress"
    assert view.history[-1].what == "citizen_reply"
    assert view.history[-1].text == "عند التقاطع مع شارع العليا."
    [added] = new_messages(smtp, 2)
    assert added["In-Reply-To"] == "<reply-1@citizen.example>"  # under their reply
    assert f"{case.tracking}" in text_of(added)

    # Staff answer; the answer arrives in the thread.
    core.voice.act(specialist, case.tracking, {"action": "answer",
                                               "text": "ستصلح الإنارة خلال يومين."})
    core.voice.act(coordinator, case.tracking, {"action": "approve"})
    voice_channel.sender.send_due()
    [answer] = new_messages(smtp, 3)
    assert answer["In-Reply-To"] == first_id
    assert answer["Subject"].startswith("Re: صوت المواطن: الرد على طلبك")
    assert "ستصلح الإنارة خلال يومين." in text_of(answer)

    # A digit in the thread rates the answer; 0 reopens the case.
    deliver(dovecot, folder, mails.plain("٤\n\nأُرسلت من جهازي", sender=CITIZEN, to=VOICE,
                                         subject="Re: الرد", References=answer["Message-ID"]))
    run_once(voice_channel)
    assert cases(core)[0].rating == 4
    deliver(dovecot, folder, mails.plain("0", sender=CITIZEN, to=VOICE, subject="Re: الرد",
                                         References=answer["Message-ID"]))
    run_once(voice_channel)
    [reopened] = cases(core)
    assert (reopened.state, reopened.cycle) == ("assigned", 2)
    rated, reopen_told = new_messages(smtp, 4)
    assert "rating" in text_of(rated) and case.tracking in text_of(rated)
    assert reopen_told["References"].split()[0] == answer["Message-ID"]

    # Every mail filed or acted once: the same mails fetched again change nothing.
    assert len(cases(core)) == 1


def test_a_stranger_quoting_the_tracking_number_learns_and_changes_nothing(
        world, core, voice_channel, dovecot, folder, smtp):
    deliver(dovecot, folder, mails.plain("الرصيف مكسور", sender=CITIZEN, to=VOICE,
                                         subject="بلاغ"))
    run_once(voice_channel)
    [case] = cases(core)
    [ack] = smtp.messages()
    core.voice.act(world.coordinator(EMIRATE), case.tracking,
                   {"action": "answer", "text": "تم الإصلاح"})
    before = core.voice.citizen_view(case.tracking, PROOF)

    deliver(dovecot, folder,
            # In the thread (they saw the ack's Message-ID), with a digit that reopens.
            mails.plain("0", sender=STRANGER, to=VOICE, subject="Re: بلاغ",
                        References=ack["Message-ID"]),
            # The tracking number in the subject, with a rating.
            mails.plain("1", sender=STRANGER, to=VOICE, subject=f"طلب {case.tracking}"),
            # A tracking number that is no case at all.
            mails.plain("1", sender=STRANGER, to=VOICE, subject=f"طلب {new_tracking()}"))
    run_once(voice_channel)

    after = core.voice.citizen_view(case.tracking, PROOF)
    assert (after.state, after.rating, len(after.history)) == \
        (before.state, before.rating, len(before.history))
    assert len(cases(core)) == 1  # nor a new case
    replies = [m for m in smtp.messages() if m["To"] == STRANGER]
    assert len(replies) == 3
    texts = {text_of(m) for m in replies}
    assert len(texts) == 1  # not theirs and no such case read the same, byte for byte
    [text] = texts
    assert case.tracking not in text and "تم الإصلاح" not in text


def test_mail_the_server_did_not_authenticate_files_nothing(core, voice_channel, dovecot,
                                                             folder, smtp):
    deliver(dovecot, folder, mails.plain("شكوى مزورة", sender=CITIZEN, to=VOICE,
                                         authenticated=False),
            mails.plain("شكوى", sender=CITIZEN, to=VOICE, Auto_Submitted="auto-replied"))

    run_once(voice_channel)

    assert cases(core) == [] and smtp.messages() == []
    assert [note.split(":")[0] for note in notes(core)] == ["not authenticated",
                                                           "auto-submitted"]


def test_a_mail_fetched_twice_files_once(core, voice_channel, email_settings, dovecot,
                                         folder, smtp):
    raw = mails.plain("حفرة في الطريق", sender=CITIZEN, to=VOICE, subject="بلاغ")
    deliver(dovecot, folder, raw)
    run_once(voice_channel)
    # The same mail again in another folder (a poller that lost its cursor reads it anew).
    dovecot.create_folder(folder + "-again")
    deliver(dovecot, folder + "-again", raw)
    email_settings.imap = email_settings.imap.model_copy(update={"folder": folder + "-again"})
    from channels.email.channel import EmailChannel

    run_once(EmailChannel(core, email_settings))

    assert len(cases(core)) == 1 and len(smtp.messages()) == 1


def test_the_inquiry_address_still_answers_inquiries(core, voice_channel, dovecot, folder,
                                                     smtp):
    deliver(dovecot, folder, mails.plain("شكوى: ما حالة المعاملة 4471234؟",
                                         sender=CITIZEN))
    run_once(voice_channel)
    assert cases(core) == []
    [reply] = smtp.messages()
    assert reply["From"] == OUR_ADDRESS and reply["Subject"].startswith("Re: استعلام")


def test_empty_long_and_too_many_are_refused_politely_once(core, settings, voice_channel,
                                                          dovecot, folder, smtp):
    settings.voice.max_cases_per_citizen = 1
    deliver(dovecot, folder,
            mails.plain("", sender=CITIZEN, to=VOICE, subject="شكوى"),
            mails.plain("أ" * 4001, sender=CITIZEN, to=VOICE, subject="Re: "),
            mails.plain("الأولى", sender=CITIZEN, to=VOICE),
            mails.plain("الثانية", sender=CITIZEN, to=VOICE),
            mails.plain("الثالثة", sender=CITIZEN, to=VOICE))

    run_once(voice_channel)

    assert [c.text for c in cases(core)] == ["استعلام\n\nالأولى"]
    sent = [text_of(m) for m in smtp.messages()]
    assert len(sent) == 4  # empty, too long, the filed one's ack, one "too many"
    [case] = cases(core)
    for said in ("has no text", "longer than 4000 characters", case.tracking,
                 "as many requests"):
        assert sum(said in text for text in sent) == 1, said
    assert notes(core)[-1] == "voice: too many cases, told"


def test_a_suggestion_by_its_first_word(core, voice_channel, dovecot, folder, smtp):
    deliver(dovecot, folder, mails.plain("Suggestion: more shade at the bus stops",
                                         sender=CITIZEN, to=VOICE, subject="Bus stops"))
    run_once(voice_channel)
    [case] = cases(core)
    assert (case.case_type, case.language, case.text) == \
        ("suggestion", "en", "Bus stops\n\nmore shade at the bus stops")


def test_a_case_filed_elsewhere_keeps_sms_first(core):
    world = build_world(core)
    tracking = world.file("complaint", None)
    with core.db.read() as session:
        rows = list(session.scalars(select(Notification.channel).where(
            Notification.kind == "voice_received")))
        assert rows == ["sms"]
        assert session.scalar(select(VoiceCase.email_thread)
                              .where(VoiceCase.tracking == tracking)) is None
        assert session.scalar(select(InboundMessage.id)) is None


def test_writing_on_under_their_own_first_mail_reaches_the_case(world, core, voice_channel,
                                                                 dovecot, folder, smtp):
    root = "<first@citizen.example>"
    deliver(dovecot, folder, mails.plain("الرصيف مكسور", sender=CITIZEN, to=VOICE,
                                         subject="بلاغ", message_id=root))
    run_once(voice_channel)
    [case] = cases(core)

    deliver(dovecot, folder,
            mails.plain("ونسيت أن أذكر أنه أمام المدرسة", sender=CITIZEN, to=VOICE,
                        subject="Re: بلاغ", References=root),
            # Someone else's mail under the same id files their own case, learns nothing.
            mails.plain("وأنا كذلك", sender=STRANGER, to=VOICE, subject="Re: بلاغ",
                        References=root))
    run_once(voice_channel)

    mine, theirs = cases(core)
    assert mine.tracking == case.tracking and theirs.citizen_email == STRANGER
    [state] = [m for m in smtp.messages()[1:] if m["To"] == CITIZEN]
    assert case.tracking in text_of(state) and "received" in text_of(state)
    assert all(case.tracking not in text_of(m) for m in smtp.messages()
               if m["To"] == STRANGER)
