"""The leaders' weekly digest (core/dashboards/digest.py) against a small hand-built
dataset, in working hours of the default calendar (Sunday to Thursday 07:30-14:30
Riyadh) with targets of 2 working hours to acknowledge and 14 to answer.

The digest goes on Sunday 2026-11-29 at 08:00 (Riyadh) for Sun 22 to Sat 28, beside
Sun 15 to Sat 21:

- P (MUN): received Sun 15 09:00, answered 10:00 (the week before).
- A (MUN): received Sun 22 09:00, answered 12:00 (180 min, on time).
- B (MUN): received Sun 22 09:30, never answered: overdue on the 29th.
- C (HEALTH): received Mon 23 09:00, answered 11:00 (120 min, on time), rated 4.

Leadership: 3 received, 2 answered, 100% on time, median 2.5 h, 1 open and overdue;
the week before 1 received, 1 answered. MUN's leader: 2 received, 1 answered.
"""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta
from html.parser import HTMLParser

import pytest
from sqlalchemy import select, update

from channels.email.compose import compose_reply
from core.access.models import StaffUser
from core.dashboards import digest
from core.dashboards.voice import Filters, Period
from core.messaging.mail import MailStore
from core.messaging.models import EmailHtml, Notification
from core.messaging.outbox import Claimed
from scheduler import Scheduler
from tests.conftest import make_settings
from tests.core.voice.conftest import PROOF, World, build_world

WEEK = Period(date(2026, 11, 22), date(2026, 11, 28))
SUNDAY = datetime(2026, 11, 29, 5, 0, tzinfo=UTC)  # 08:00 in Riyadh
LINK = "https://gateway.example.sa"


def local(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=UTC) - timedelta(hours=3)


def options(enabled: bool = True) -> dict:
    return {"acknowledge": "2h", "answer": "14h",
            "digest": {"enabled": enabled, "weekday": "sun", "at": "08:00"}}


@pytest.fixture
def settings(database_url, tmp_path):
    settings = make_settings(database_url, tmp_path, voice=options())
    return settings.model_copy(update={"gateway": settings.gateway.model_copy(
        update={"public_url": LINK})})


def act(world: World, moment: datetime, actor, tracking: str, action: str, **body) -> None:
    world.clock = moment - timedelta(minutes=1)
    world.act(actor, tracking, action, **body)


def answered(world: World, agency: str, received: datetime, at: datetime) -> str:
    world.clock = received - timedelta(minutes=1)
    tracking = world.file("complaint", agency)
    act(world, received + timedelta(minutes=5), world.coordinator(agency), tracking,
        "assign", user=world.specialist(agency).login)
    act(world, received + timedelta(minutes=10), world.specialist(agency), tracking, "start")
    act(world, at - timedelta(minutes=5), world.specialist(agency), tracking, "answer",
        text="تم")
    act(world, at, world.coordinator(agency), tracking, "approve")
    return tracking


def set_user(core, login: str, **values) -> None:
    with core.db.write.begin() as session:
        session.execute(update(StaffUser).where(StaffUser.login == login).values(**values))


@pytest.fixture
def world(core):
    world = build_world(core)
    answered(world, "MUN", local(15, 9), local(15, 10))
    answered(world, "MUN", local(22, 9), local(22, 12))
    world.clock = local(22, 9, 29)
    world.file("complaint", "MUN")
    health = answered(world, "HEALTH", local(23, 9), local(23, 11))
    world.voice.citizen_act(health, "rate", PROOF, rating=4, now=local(23, 12))
    core.dashboards.rebuild(now=SUNDAY - timedelta(minutes=1))
    with core.db.write.begin() as session:
        for code, name in (("MUN", "البلدية"), ("HEALTH", "الصحة")):
            session.execute(update(digest.Agency).where(digest.Agency.code == code)
                            .values(name_ar=name))
    set_user(core, "leadership", email="amir@example.sa", mobile="+966500000001")
    set_user(core, "leader_mun", email="mun@example.sa", language="en")
    set_user(core, "leader_health", mobile="+966500000002", disabled_at=SUNDAY)
    return world


def outbox(core) -> list[Notification]:
    with core.db.read() as session:
        return list(session.scalars(select(Notification).where(
            Notification.kind == digest.KIND).order_by(Notification.cause_key)))


def html_of(core, notification: Notification) -> str:
    html = MailStore(core.db).compositions([notification.id])[notification.id].html
    assert html is not None
    return html


def send(core, now: datetime = SUNDAY, holder: str = "test") -> int:
    return core.dashboards.send_digests(LINK, holder, timedelta(minutes=1), now=now)


@pytest.mark.postgres
def test_the_numbers_are_the_dashboards(core, world):
    figures = core.dashboards.voice_figures(world.users["leadership"], WEEK)
    assert (figures.current.received, figures.current.answered,
            figures.current.on_time_pct, figures.current.median_answer_hours,
            figures.backlog.open, figures.backlog.overdue) == (3, 2, 100.0, 2.5, 1, 1)
    assert (figures.previous.received, figures.previous.answered) == (1, 1)

    assert send(core) == 2  # leadership, MUN's leader; HEALTH's is disabled
    sms, = [n for n in outbox(core) if n.channel == "sms"]
    assert sms.recipient == "+966500000001" and sms.audience == "staff"
    assert sms.body == ("صوت المواطن، الأسبوع المنتهي 1448/06/18هـ (2026/11/28م): "
                        "3 واردة، 2 مجابة، 100% في الموعد، 1 متأخرة.")
    mun = core.dashboards.voice_figures(world.users["leader_MUN"], WEEK,
                                        Filters("MUN"))
    english = next(n for n in outbox(core) if n.recipient == "mun@example.sa")
    assert english.language == "en"
    assert english.body.startswith(
        f"Citizen's Voice, week to 18 Jumada al-Akhirah 1448 AH (28 Nov 2026): "
        f"{mun.current.received} received, {mun.current.answered} answered, 100% on time, "
        f"{mun.backlog.overdue} overdue.")
    assert (mun.current.received, mun.current.answered, mun.backlog.overdue) == (2, 1, 1)
    assert english.body.endswith(f"\n\n{LINK}/dashboards/voice")


def test_leadership_sees_the_agencies_the_latest_first_in_arabic(core, world):
    send(core)
    mail, = [n for n in outbox(core) if n.recipient == "amir@example.sa"]
    page = html_of(core, mail)
    assert '<html lang="ar" dir="rtl">' in page
    names = {a.agency: a.name_ar for a in core.dashboards.voice_figures(
        world.users["leadership"], WEEK).by_agency}
    assert names["MUN"] != names["HEALTH"]
    # MUN has the overdue case: first, though HEALTH's code comes first.
    assert page.index(names["MUN"]) < page.index(names["HEALTH"])
    assert "الجهات، الأكثر تأخرًا أولًا" in page and "هذا الأسبوع" in page
    assert f'href="{LINK}/dashboards/voice"' in page
    assert "<svg" not in page
    english = html_of(core, next(n for n in outbox(core) if n.recipient == "mun@example.sa"))
    assert '<html lang="en" dir="ltr">' in english
    assert "Agencies, the latest first" not in english  # an agency leader: their own
    assert "HEALTH" not in english


class _Balance(HTMLParser):
    """Every element closed in order (the void ones aside)."""

    VOID = {"meta", "br", "hr", "img"}

    def __init__(self) -> None:
        super().__init__()
        self.open: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs) -> None:
        if tag not in self.VOID:
            self.open.append(tag)

    def handle_endtag(self, tag) -> None:
        assert self.open and self.open.pop() == tag, tag

    def handle_data(self, data) -> None:
        self.text.append(data)


def test_the_html_is_well_formed_and_escaped(core, world):
    with core.db.write.begin() as session:
        session.execute(update(digest.Agency).where(digest.Agency.code == "MUN").values(
            name_ar="<script>alert(1)</script> & بلدية"))
    send(core)
    page = html_of(core, next(n for n in outbox(core) if n.recipient == "amir@example.sa"))
    assert "<script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; بلدية" in page
    parser = _Balance()
    parser.feed(page)
    parser.close()
    assert parser.open == []
    assert "<script>alert(1)</script> & بلدية" in "".join(parser.text)


def test_the_mail_is_sent_with_the_html_part(core, world):
    send(core)
    mail = next(n for n in outbox(core) if n.recipient == "amir@example.sa")
    page = html_of(core, mail)
    claimed = Claimed(mail.id, mail.recipient, mail.body, mail.language, mail.kind,
                      mail.audience, mail.priority, 1)
    message = compose_reply(claimed, None, from_address="voice@example.sa", html=page)
    assert message["Subject"] == "صوت المواطن: أرقام الأسبوع / Citizen's Voice: the week's figures"
    assert message.get_body(("html",)).get_content().strip() == page
    assert message.get_body(("plain",)).get_content().strip() == mail.body.strip()
    # Without one, the sender still makes the HTML from the body.
    plain = compose_reply(claimed, None, from_address="voice@example.sa")
    assert "<table" not in plain.get_body(("html",)).get_content()


def test_once_a_week_on_its_day_after_its_time(core, world):
    assert send(core, SUNDAY - timedelta(minutes=1)) == 0  # 07:59
    assert send(core, SUNDAY - timedelta(days=1)) == 0  # Saturday
    assert send(core) == 2
    assert send(core, SUNDAY + timedelta(hours=3), holder="other") == 0
    assert len(outbox(core)) == 3  # leadership's e-mail and SMS, MUN's leader's e-mail
    with core.db.read() as session:
        assert len(session.scalars(select(EmailHtml)).all()) == 2
    assert send(core, SUNDAY + timedelta(days=7)) == 2  # the next week


@pytest.mark.postgres
def test_two_schedulers_at_once_send_each_message_once(core, world, settings):
    first, second = Scheduler(core, settings, clock=lambda: SUNDAY), \
        Scheduler(core, settings, clock=lambda: SUNDAY)
    start = threading.Barrier(2)
    results: list[int] = []

    def run(scheduler: Scheduler) -> None:
        start.wait()
        results.append(scheduler.send_voice_digests())

    threads = [threading.Thread(target=run, args=(s,)) for s in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) in ([0, 2], [1, 1])
    assert sorted(n.cause_key for n in outbox(core)) == sorted([
        f"voice-digest:2026-11-28:{world.users['leader_MUN'].user_id}:email",
        f"voice-digest:2026-11-28:{world.users['leadership'].user_id}:email",
        f"voice-digest:2026-11-28:{world.users['leadership'].user_id}:sms"])
    with core.db.read() as session:
        assert len(session.scalars(select(EmailHtml)).all()) == 2


@pytest.mark.postgres
def test_a_user_queued_meanwhile_is_not_queued_again(core, world):
    """A scheduler that lost its lease mid-run: the outbox's causes still decide."""
    figures = core.dashboards.voice_figures(world.users["leadership"], WEEK)
    user = digest.Leader(world.users["leadership"].user_id, "leadership", None,
                         "amir@example.sa", "+966500000001", "ar")
    for expected in (1, 0):
        with core.db.write.begin() as session:
            assert digest.queue_digest(session, user, figures, WEEK, LINK) == expected
    assert len(outbox(core)) == 2
    with core.db.read() as session:
        assert len(session.scalars(select(EmailHtml)).all()) == 1


def test_nothing_when_disabled_or_without_an_address(core, world, database_url, tmp_path):
    set_user(core, "leadership", email=None, mobile=None)
    set_user(core, "leader_mun", email="")
    assert send(core) == 0 and outbox(core) == []
    off = make_settings(database_url, tmp_path, voice=options(enabled=False))
    set_user(core, "leadership", email="amir@example.sa")
    assert digest.send(core.db, off, link=LINK, holder="x", ttl=timedelta(minutes=1),
                       now=SUNDAY) == 0
    assert outbox(core) == []


def test_the_smtp_sender_sends_the_digest_with_its_html(core, world, settings):
    from channels.email.sender import SmtpSender
    from tests.peers.smtp_peer import SmtpPeer

    send(core)
    with SmtpPeer() as smtp:
        smtp_settings = settings.email.smtp.model_copy(update={
            "host": smtp.host, "port": smtp.port, "ssl": False, "starttls": False,
            "from_address": "gateway@example.sa"})
        assert SmtpSender(core, smtp_settings).send_due() == 2
        by_recipient = {m["To"]: m for m in smtp.messages()}
    mail = by_recipient["amir@example.sa"]
    stored = next(n for n in outbox(core) if n.recipient == "amir@example.sa")
    assert mail.get_body(("html",)).get_content().strip() == html_of(core, stored)
    assert mail.get_body(("plain",)).get_content().strip() == stored.body
    assert mail["Auto-Submitted"] == "auto-generated"


def test_an_account_created_in_english_gets_its_digest_in_english(core, world):
    from core.platform.errors import InvalidRequest

    set_user(core, "leader_mun", email=None)
    set_user(core, "leadership", disabled_at=SUNDAY)
    core.users.create("leadership", "amira", mobile="0551234567", language="en")
    with pytest.raises(InvalidRequest):
        core.users.create("leadership", "amira2", language="fr")
    assert send(core) == 1
    sms, = outbox(core)
    assert sms.language == "en" and sms.body.startswith("Citizen's Voice, week to ")
