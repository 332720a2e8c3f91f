"""The staff case page's photos and recordings (gateway/voice_attachments.py): listed and
served to staff who may see the case, with safe headers; nothing for anyone else."""

from __future__ import annotations

import re

from sqlalchemy import select

from core.voice.attachments import MAX_FETCH_ATTEMPTS, NewAttachment
from core.voice.models import CaseAttachment, VoiceCase
from tests.core.voice.conftest import MUN, World
from tests.core.voice.conftest import world as world  # noqa: F401  (the fixture)
from tests.gateway.test_photos import png
from tests.gateway.test_voice_pages import as_user
from tests.gateway.test_voice_pages import staff as staff  # noqa: F401  (the fixture)

MP3 = b"ID3\x03\x00\x00\x00\x00\x00\x00" + b"\xff\xfb\x90\x00" * 64


def file_with(world: World, *attachments: NewAttachment) -> str:
    body = {"type": "complaint", "text": "حفرة في الطريق", "channel": "portal",
            "lang": "ar", "agency": MUN, "citizen": {"mobile": "0551234567"}}
    return world.voice.file_case(body, attachments=list(attachments)).tracking


def test_staff_who_may_see_the_case_see_its_photos_and_recordings(app, core, staff):
    tracking = file_with(staff, NewAttachment("photo", "image/png", png()),
                         NewAttachment("recording", "audio/mpeg", MP3, seconds=12))
    waiting = file_with(staff, NewAttachment("recording", "audio/wav",
                                             source_url="https://api.twilio.com/rec/RE1"))
    client = as_user(app, core, staff, "coord_MUN")
    page = client.get(f"/voice/cases/{tracking}?lang=en").get_data(as_text=True)
    links = re.findall(rf'src="(/voice/cases/{tracking}/attachments/\d+)"', page)
    assert len(links) == 2
    assert "<img" in page and "<audio controls" in page and "12 seconds" in page
    page = client.get(f"/voice/cases/{waiting}?lang=en").get_data(as_text=True)
    assert "being fetched" in page and "/attachments/" not in page  # no link yet
    for _attempt in range(MAX_FETCH_ATTEMPTS):
        core.voice.recordings.failed(attachment_id(core, waiting))
    page = client.get(f"/voice/cases/{waiting}?lang=en").get_data(as_text=True)
    assert "could not be fetched" in page and "being fetched" not in page
    arabic = client.get(f"/voice/cases/{waiting}?lang=ar").get_data(as_text=True)
    assert "تعذّر جلبها" in arabic

    photo = client.get(links[0])
    assert photo.status_code == 200 and photo.data == png()
    assert photo.headers["Content-Type"] == "image/png"
    assert photo.headers["X-Content-Type-Options"] == "nosniff"
    assert photo.headers["Content-Disposition"].startswith("inline; filename=")
    assert "no-store" in photo.headers["Cache-Control"]
    assert "default-src 'self'" in photo.headers["Content-Security-Policy"]
    recording = client.get(links[1], headers={"Range": "bytes=0-9"})
    assert recording.status_code == 206 and recording.data == MP3[:10]
    assert recording.headers["Content-Type"] == "audio/mpeg"


def attachment_id(core, tracking: str) -> int:
    with core.db.read() as session:
        return session.scalar(select(CaseAttachment.id).join(
            VoiceCase, VoiceCase.id == CaseAttachment.case_id)
            .where(VoiceCase.tracking == tracking))


def test_staff_of_another_agency_get_nothing(app, core, staff):
    tracking = file_with(staff, NewAttachment("photo", "image/png", png()))
    mine = as_user(app, core, staff, "coord_MUN")
    link = re.findall(r'src="(/voice/cases/\d+/attachments/\d+)"',
                      mine.get(f"/voice/cases/{tracking}").get_data(as_text=True))[0]
    stranger = as_user(app, core, staff, "coord_HEALTH")
    assert stranger.get(link).status_code == 404
    other_case = file_with(staff)
    assert mine.get(link.replace(tracking, other_case)).status_code == 404


def test_a_visitor_not_signed_in_is_sent_to_sign_in(client, core, staff):
    tracking = file_with(staff, NewAttachment("photo", "image/png", png()))
    response = client.get(f"/voice/cases/{tracking}/attachments/1")
    assert response.status_code == 303 and "/login" in response.headers["Location"]
