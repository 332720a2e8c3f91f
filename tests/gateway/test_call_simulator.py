"""The staff call simulator: a keypad in the browser driving the same IVR flow."""

from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta

import pytest
import time_machine
from sqlalchemy import select

from core.access.tokens import create_token
from core.calls.models import IvrCall
from core.transactions.models import InquiryLog
from tests import factories as f
from tests.gateway.test_ivr_webhooks import RIYADH, ivr_settings
from tests.gateway.test_simulator import csrf_token, sign_in, text

NUMBER = "4471234"


@pytest.fixture
def settings(database_url, tmp_path):
    return ivr_settings(database_url, tmp_path)



@pytest.fixture
def staff_client(client, core):
    assert sign_in(client, create_token(core.db.write, "staff", "trainer")).status_code == 303
    return client


def _remember(client, response):
    """Keep the page's CSRF token and the keys collected so far, as the browser does."""
    page = text(response)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    client.csrf = token.group(1) if token else getattr(client, "csrf", "")
    pending = re.search(r'name="pending" value="([^"]*)"', page)
    client.pending = pending.group(1) if pending else ""
    return response


def start(client, caller: str = "", lang: str = "ar", *, attested: bool = False):
    form = {"csrf_token": csrf_token(client, "/simulator/call"), "lang": lang,
            "caller": caller, **({"attested": "on"} if attested else {})}
    return _remember(client, client.post("/simulator/call/start", data=form))


def press(client, key: str, lang: str = "ar"):
    if not getattr(client, "csrf", None):
        client.csrf = csrf_token(client, "/simulator/call")
    return _remember(client, client.post("/simulator/call/key", data={
        "csrf_token": client.csrf, "lang": lang, "key": key,
        "pending": getattr(client, "pending", "")}))


def dial(client, keys: str):
    response = None
    for key in keys:
        response = press(client, key)
    return response


def test_the_call_simulator_needs_a_staff_sign_in(client):
    response = client.get("/simulator/call")
    assert response.status_code == 303 and "/simulator/login" in response.headers["Location"]


def test_a_whole_call_from_the_keypad(staff_client, core, transaction):
    page = text(start(staff_client, caller=f.MOBILE, attested=True))
    assert "للعربية اضغط واحد" in page and 'class="keypad"' in page
    page = text(press(staff_client, "2"))
    assert "Please enter your transaction number" in page
    page = text(dial(staff_client, "44712"))
    assert 'id="pending">44712<' in page
    page = text(dial(staff_client, "34#"))
    # The digits read back stay left to right in the page (an isolate around them).
    assert "You entered \u20664 4 7 1 2 3 4\u2069." in page
    assert "Referred to Rights Department" in page
    page = text(press(staff_client, "9"))
    # The goodbye is shown, the call is over: no keypad, the form to call again.
    assert "Thank you for calling. Goodbye." in page and 'id="ended"' in page
    assert 'class="keypad"' not in page and 'action="/simulator/call/start"' in page
    with core.db.read() as session:
        row = session.scalars(select(IvrCall)).one()
        channels = session.scalars(select(InquiryLog.channel)).all()
    assert (row.channel, row.outcome) == ("ivr-sim", "status") and row.ended_at
    assert channels == ["ivr-sim"]


def test_silence_and_a_withheld_number_in_the_simulator(staff_client, transaction):
    start(staff_client)
    page = text(press(staff_client, "silence"))
    assert "فضلًا أدخل رقم المعاملة" in page
    page = text(dial(staff_client, "4471234#"))
    assert "الهوية" in page
    dial(staff_client, f.NATIONAL_ID)
    page = text(press(staff_client, "silence"))  # Twilio sends what was keyed on timeout
    assert "أحيلت إلى إدارة الحقوق" in page


def test_the_simulator_puts_through_to_a_busy_agent(staff_client, transaction, core,
                                                   monkeypatch):
    # Forward to the next Sunday morning: the signed session cookie refuses to go back.
    # The staff session ages on the real clock (days ahead it would be long expired).
    signed_in_at = datetime.now(UTC)
    monkeypatch.setattr(core.staff_sessions, "now", lambda: signed_in_at)
    today = datetime.now(RIYADH).date()
    sunday = today + timedelta(days=(6 - today.weekday()) % 7 or 7)
    start(staff_client, caller=f.MOBILE, attested=True)
    press(staff_client, "1")
    dial(staff_client, "4471234#")
    with time_machine.travel(datetime.combine(sunday, time(10), RIYADH), tick=False):
        page = text(press(staff_client, "0"))
    assert "agent:busy" in page
    page = text(press(staff_client, "agent:busy"))
    assert "لا يوجد موظف متاح" in page


def test_a_caller_id_the_trainee_does_not_mark_attested_is_asked_for_the_id(
        staff_client, transaction):
    page = text(start(staff_client, caller=f.MOBILE))
    assert 'name="attested"' not in page  # the call is on: no start form
    press(staff_client, "2")
    page = text(dial(staff_client, "4471234#"))
    assert "national ID" in page and "Referred to Rights Department" not in page


def _failed_simulated_call(client, caller: str, number: str, national_id: str) -> str:
    """One simulated call from ``caller`` (attested) asking for ``number`` with
    ``national_id``; what the line said last."""
    start(client, caller=caller, attested=True)
    press(client, "2")
    page = text(dial(client, number + "#"))
    if "national ID" in page:
        page = text(dial(client, national_id + "#"))
    press(client, "hangup")
    return page


def test_training_with_a_citizens_details_does_not_lock_the_citizen_out(
        staff_client, core, transaction):
    from core.transactions.answer import Outcome
    from core.transactions.inquiry import InquiryRequest

    # A class of trainees, each at their own "phone", practising with one citizen's
    # national ID and wrong numbers: more failures for that ID than the limits allow
    # from anyone.
    limit = core.config.inquiry.max_failures
    for attempt in range(3 * limit):
        page = _failed_simulated_call(staff_client, f"055{attempt:07d}",
                                      str(4479000 + attempt), f.NATIONAL_ID)
        assert "No transaction was found" in page  # one try per trainee: never refused

    def citizen(request: InquiryRequest) -> Outcome:
        return core.inquire(request).outcome

    # The citizen, on the real channels: the portal with one typo first, their SMS from
    # the registered mobile, the toll-free line from it.
    web = {"channel": "web", "national_id": f.NATIONAL_ID, "origin": "192.0.2.10"}
    assert citizen(InquiryRequest(number_text="4479999", **web)) is Outcome.NOT_FOUND
    assert citizen(InquiryRequest(number_text=NUMBER, **web)) is Outcome.FOUND
    assert citizen(InquiryRequest(channel="sms", number_text=NUMBER, mobile=f.MOBILE_E164,
                                  origin=f.MOBILE_E164)) is Outcome.FOUND
    assert citizen(InquiryRequest(channel="ivr", number_text=NUMBER,
                                  national_id=f.NATIONAL_ID, mobile=f.MOBILE_E164,
                                  origin=f.MOBILE_E164)) is Outcome.FOUND

    # The simulator has limits all the same: its own. One trainee going on is stopped.
    pages = [_failed_simulated_call(staff_client, "0559999999", str(4478000 + attempt),
                                    f.NATIONAL_ID) for attempt in range(limit + 1)]
    assert "Too many attempts" in pages[-1]


def test_a_key_without_a_call_is_refused_kindly(staff_client):
    response = press(staff_client, "1")
    assert response.status_code == 409


def _played_mode_app(database_url, tmp_path, core, mode: str = "play"):
    """An app in ``mode`` with a few phrases recorded; its library and a staff client."""
    from channels.ivr.audio import AudioLibrary, audio_dir
    from gateway.app import create_app

    settings = ivr_settings(database_url, tmp_path, voice={"mode": mode})
    library = AudioLibrary(audio_dir(settings), settings.ivr.voice, "")
    library.directory.mkdir(parents=True)
    for lang, phrase in RECORDED:
        library.path(lang, phrase).write_bytes(b"RIFF-not-checked-here")
    client = create_app(settings, core).test_client()
    assert sign_in(client, create_token(core.db.write, "staff", "t")).status_code == 303
    return library, client


RECORDED = [("ar", "للعربية اضغط واحد"), ("ar", "4"), ("ar", "أحيلت إلى"),
            ("ar", "الرقم الذي أدخلته")]
_PART = re.compile(r'<audio class="prompt-audio" controls preload="auto" src="([^"]+)">'
                   r'|<bdi class="prompt-said">([^<]*)</bdi>')


def _page_parts(page: str) -> list[tuple[str, str]]:
    """What the page plays and says, in order."""
    from html import unescape

    return [("play", src) if src else ("say", unescape(said).strip("\u2066\u2069"))
            for src, said in _PART.findall(page.replace("\u2066", "").replace("\u2069", ""))]


def _twiml_parts(root) -> list[tuple[str, str]]:
    from tests.channels.ivr.phone import PUBLIC_URL

    return [("play", e.text.removeprefix(PUBLIC_URL)) if e.tag == "Play" else ("say", e.text)
            for e in root.iter() if e.tag in ("Play", "Say")]


def test_in_play_mode_the_simulator_plays_what_the_line_plays_in_order(database_url,
                                                                       tmp_path, core,
                                                                       transaction):
    from tests.channels.ivr.phone import ATTESTED, Phone

    library, client = _played_mode_app(database_url, tmp_path, core)
    twilio = Phone(client, caller=f.MOBILE_E164, verstat=ATTESTED)

    response = start(client, caller=f.MOBILE, attested=True)
    page = text(response)
    assert _page_parts(page) == _twiml_parts(twilio.call())
    assert ("play", library.url("ar", "للعربية اضغط واحد")) in _page_parts(page)
    for keys in ("1", "4471234#"):
        page = text(dial(client, keys))
        twilio.press(keys)
        if keys == "1":
            # The line's main menu (Citizen's Voice: a voice message, a case's state) is
            # not in the simulator, which cannot record: past it, the same transaction.
            twilio.press("1")
        assert _page_parts(page) == _twiml_parts(twilio.twiml)
    parts = _page_parts(page)
    assert parts.count(("play", library.url("ar", "4"))) == 6
    assert ("say", "إدارة الحقوق") in parts  # a name has no recording: said, as on the line
    # The player is a same-origin script (the CSP forbids inline ones), no inline code.
    script = '<script src="/assets/call_simulator.js" defer></script>'
    assert script in page and page.count("<script") == 1
    assert "'unsafe-inline'" not in response.headers["Content-Security-Policy"]
    js = client.get("/assets/call_simulator.js")
    assert js.status_code == 200 and "javascript" in js.mimetype
    assert 'querySelectorAll("audio.prompt-audio")' in js.get_data(as_text=True)


def test_in_say_mode_the_simulator_shows_what_twilio_says_and_plays_nothing(
        database_url, tmp_path, core, transaction):
    from tests.channels.ivr.phone import Phone

    _library, client = _played_mode_app(database_url, tmp_path, core, mode="say")
    twilio = Phone(client, caller=f.MOBILE_E164)
    page = text(start(client, caller=f.MOBILE))
    said = [t for _kind, t in _twiml_parts(twilio.call())]
    shown = re.findall(r'<bdi class="bubble-text">([^<]*)</bdi>', page)
    assert shown == said and len(said) == 4
    assert "<audio" not in page and "<script" not in page  # recordings exist, unused
    assert "Polly.Zeina" in page and "Polly.Joanna" in page
