"""Citizen's Voice messages by e-mail carry subjects of their own, Arabic first: sent by the
real sender to an SMTP server (aiosmtpd), every voice kind arrives with its title."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from channels.email.sender import SmtpSender
from core.messaging import outbox
from core.messaging.models import Notification
from core.messaging.subjects import notification_subject
from tests.core.voice.conftest import MUN, build_world

ADDRESS = "sara@example.com"
EXPECTED = {
    "voice_received": "صوت المواطن: تم استلام طلبك / Citizen's Voice: your request was "
                      "received",
    "voice_info_requested": "صوت المواطن: نحتاج إلى معلومات إضافية / Citizen's Voice: more "
                            "information needed",
    "voice_answered": "صوت المواطن: الرد على طلبك / Citizen's Voice: the answer to your "
                      "request",
    "voice_accepted": "صوت المواطن: قُبل مقترحك / Citizen's Voice: your suggestion was "
                      "accepted",
    "voice_planned": "صوت المواطن: أُدرج مقترحك في الخطة / Citizen's Voice: your suggestion "
                     "is planned",
    "voice_implemented": "صوت المواطن: نُفذ مقترحك / Citizen's Voice: your suggestion was "
                         "implemented",
    "voice_rejected": "صوت المواطن: القرار بشأن مقترحك / Citizen's Voice: the decision on "
                      "your suggestion",
    "voice_closed": "صوت المواطن: أُغلق طلبك / Citizen's Voice: your request was closed",
    "voice_merged": "صوت المواطن: ضُم طلبك إلى بلاغ مماثل / Citizen's Voice: your request "
                    "joins another",
    "voice_assigned": "صوت المواطن: حالة أُسندت إليك / Citizen's Voice: a case assigned to "
                      "you",
    "voice_sent_back": "صوت المواطن: أُعيدت مسودة ردك / Citizen's Voice: your draft answer "
                       "was sent back",
    "voice_warning": "صوت المواطن: حالات تقترب من موعد الرد / Citizen's Voice: cases nearing "
                     "their deadline",
    "voice_breach": "صوت المواطن: حالات تجاوزت موعد الرد / Citizen's Voice: cases past "
                    "their deadline",
    "voice_leadership": "صوت المواطن: حالات متأخرة كثيرًا عن موعد الرد / Citizen's Voice: "
                        "cases long past their deadline",
}
# Staff are told by SMS when they have a mobile (these two always are), and the alarms
# come from a scan: each is queued here as its feature would queue it by e-mail.
QUEUED_DIRECTLY = ("voice_assigned", "voice_sent_back", "voice_warning", "voice_breach",
                   "voice_leadership")


@pytest.fixture
def smtp():
    from tests.peers.smtp_peer import SmtpPeer

    with SmtpPeer() as peer:
        yield peer


def by_email(world, case_type: str, state: str) -> str:
    """A case of a citizen who gave only an e-mail address, walked to ``state``."""
    return world.walk(case_type, state, MUN, citizen={"email": ADDRESS, "name": "سارة"})


def test_every_voice_kind_by_email_arrives_with_its_own_subject(core, settings, smtp):
    world = build_world(core)
    for case_type, state in (("complaint", "awaiting_citizen"), ("complaint", "answered"),
                             ("complaint", "closed"), ("complaint", "duplicate"),
                             ("suggestion", "implemented"), ("suggestion", "rejected")):
        by_email(world, case_type, state)
    with core.db.write.begin() as session:
        for n, kind in enumerate(QUEUED_DIRECTLY):
            outbox.enqueue(session, cause_key=f"test:{n}", kind=kind, audience="staff",
                           recipient="leader@agency.example", language="ar",
                           body="صوت المواطن: 7153071183", channel="email")
    with core.db.read() as session:
        queued = dict(session.execute(select(Notification.id, Notification.kind)
                                      .where(Notification.channel == "email")).all())
    assert set(queued.values()) == set(EXPECTED), "a voice kind went untested"

    smtp_settings = settings.email.smtp.model_copy(update={
        "host": smtp.host, "port": smtp.port, "ssl": False, "starttls": False,
        "from_address": "voice@emirate.gov.sa"})
    assert SmtpSender(core, smtp_settings).send_due() == len(queued)

    arrived = {}
    for message in smtp.messages():
        notification_id = int(re.search(r"\.(\d+)@", message["Message-ID"]).group(1))
        arrived[queued[notification_id]] = message["Subject"]
    assert arrived == EXPECTED


def test_transaction_subjects_are_as_before():
    assert notification_subject("registration") == "تسجيل معاملة / Transaction registered"
    assert notification_subject("issuance") == "صدور معاملة / Transaction issued"
    assert notification_subject("inquiry") == "استعلام عن معاملة / Transaction inquiry"


def test_the_senders_own_imports_know_every_subject():
    """A ``gateway email`` process imports the sender (and the core it is built on) and
    nothing else of the features: every title is registered by then."""
    script = ("import channels.email.sender\n"
              "from core.messaging.subjects import notification_subject as s\n"
              "print(s('voice_breach')); print(s('voice_answered')); print(s('x'))")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         check=True, cwd=Path(__file__).parents[3]).stdout.splitlines()
    assert out == [EXPECTED["voice_breach"], EXPECTED["voice_answered"],
                   "استعلام عن معاملة / Transaction inquiry"]
