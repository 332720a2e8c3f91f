"""Citizen's Voice on the phone line, through the real webhooks signed as Twilio signs
them: a complaint left as a voice message (filed once, its tracking number read back and
sent by SMS), the recording fetched into the database by the scheduler from a local
HTTP server, and a case's state by its tracking number for its citizen only."""

from __future__ import annotations

import base64
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import select

from core.messaging.models import Notification
from core.voice.attachments import MAX_FETCH_ATTEMPTS
from core.voice.models import CaseAttachment
from core.voice.recordings import next_try_at
from scheduler import Scheduler
from scheduler.recordings import FetchRefused, RecordingFetcher
from tests import factories as f
from tests.channels.ivr.phone import ATTESTED, AUTH_TOKEN, PUBLIC_URL, Phone
from tests.core.voice.conftest import CITIZEN_MOBILE, build_world, cases
from tests.gateway.test_ivr_webhooks import ivr_settings

ACCOUNT_SID = "AC" + "5" * 32
LANDLINE = "+966112345678"
AUDIO = b"ID3\x04\x00" + bytes(range(256)) * 40  # what the local "Twilio" serves


@pytest.fixture
def settings(database_url, tmp_path):
    return ivr_settings(database_url, tmp_path)


def attachments(core) -> list[CaseAttachment]:
    with core.db.read() as session:
        return list(session.scalars(select(CaseAttachment)).all())


def sms_to(core, mobile: str) -> list[str]:
    with core.db.read() as session:
        return list(session.scalars(select(Notification.body).where(
            Notification.recipient == mobile)).all())


def call_number(core, phone: Phone) -> str | None:
    from core.calls.models import IvrCall

    with core.db.read() as session:
        return session.scalars(select(IvrCall.number).where(
            IvrCall.call_sid == phone.sid)).one()


def spoken_digits(number: str) -> str:
    return " ".join(number)


# --- a complaint as a voice message ----------------------------------------------------


def test_a_voice_message_is_filed_once_its_number_read_back_and_sent_by_sms(client, core):
    phone = Phone(client, caller=f.MOBILE_E164)
    phone.call()
    phone.press("1")  # Arabic
    menu = phone.press("2")  # leave a complaint: the caller ID is a mobile, no question
    record = menu.find("Record")
    assert record is not None and menu.find("Gather") is None
    assert record.attrib["action"] == f"{PUBLIC_URL}/ivr/recorded"
    assert (record.attrib["maxLength"], record.attrib["finishOnKey"]) == ("120", "#")
    assert record.attrib["playBeep"] == "true"
    assert "بعد سماع الصافرة، اذكر شكواك" in phone.heard()
    # Nothing recorded: Twilio goes on to the <Redirect> after the <Record>.
    assert menu.find("Redirect").text == f"{PUBLIC_URL}/ivr/recorded"

    answer = phone.speak(35)
    filed = cases(core)
    assert len(filed) == 1
    case = filed[0]
    heard = phone.heard()
    assert f"تم استلام شكواك. رقم المتابعة {spoken_digits(case.tracking)}." in heard
    assert "أرسلنا رقم المتابعة إلى جوالك" in heard
    assert answer.find("Gather").attrib["action"].endswith("/ivr/input/case_options")
    assert (case.case_type, case.channel, case.language) == ("complaint", "ivr", "ar")
    assert case.citizen_mobile == f.MOBILE_E164
    assert case.source_key == f"ivr:{phone.sid}"
    assert "35" in case.text and "رسالة صوتية" in case.text
    [recording] = attachments(core)
    assert (recording.case_id, recording.kind, recording.content_type) == (
        case.id, "recording", "audio/mpeg")
    assert recording.source_url == Phone.recording(35)["RecordingUrl"]
    assert (recording.seconds, recording.data) == (35, None)
    [sms] = sms_to(core, f.MOBILE_E164)
    assert case.tracking in sms

    # Twilio posts the same recording again (a retry): nothing new is filed or sent.
    phone.post(f"{PUBLIC_URL}/ivr/recorded", **Phone.recording(35))
    assert len(cases(core)) == 1 and len(attachments(core)) == 1
    assert len(sms_to(core, f.MOBILE_E164)) == 1
    phone.press("1")  # hear the number again
    assert spoken_digits(case.tracking) in phone.heard()
    phone.press("9")
    assert phone.hung_up()
    assert call_number(core, phone) == case.tracking
    from tests.gateway.test_ivr_webhooks import call_row

    assert call_row(core, phone).outcome == "complaint_filed"


def test_a_caller_who_hangs_up_to_end_the_message_still_gets_it_filed(client, core):
    # Hanging up ends a <Record> too; the call's status callback may reach us before the
    # recording does. The message is filed all the same, the number goes by SMS.
    phone = Phone(client, caller=f.MOBILE_E164)
    phone.call()
    phone.press("1")
    phone.press("2")
    assert phone.hang_up(50) == 204
    phone.post(f"{PUBLIC_URL}/ivr/recorded", **{**Phone.recording(40), "Digits": "hangup"})
    assert phone.hung_up()
    [case] = cases(core)
    [sms] = sms_to(core, f.MOBILE_E164)
    assert case.tracking in sms and "40" in case.text


def test_a_caller_id_that_is_not_a_mobile_keys_one_in_for_the_sms(client, core):
    phone = Phone(client, caller=LANDLINE)
    phone.call()
    phone.press("2")  # English
    phone.press("2")
    assert "Please enter your mobile number" in phone.heard()
    assert phone.gather().attrib["action"].endswith("/ivr/input/mobile")
    phone.press("0112345678#")
    assert "That mobile number is not valid." in phone.heard()
    phone.press("٠٥٦٩٨٧٦٥٤٣#")  # Arabic-Indic digits are digits
    assert "After the tone, say your complaint" in phone.heard()
    # The mobile rides with the recording's webhook (signed by Twilio), not in the call
    # log, which keeps no caller's number in full.
    action = f"{PUBLIC_URL}/ivr/recorded?reply_to=%2B966569876543"
    assert phone.twiml.find("Record").attrib["action"] == action
    assert phone.twiml.find("Redirect").text == action
    assert call_number(core, phone) is None
    phone.speak(1)  # too short: asked again, the mobile still with it
    assert phone.twiml.find("Record").attrib["action"] == action
    phone.speak(12)
    [case] = cases(core)
    assert case.citizen_mobile == "+966569876543" and case.language == "en"
    assert f"Its tracking number is {spoken_digits(case.tracking)}." in phone.heard()
    assert "Voice message left on the phone line (12 s)" in case.text
    assert call_number(core, phone) == case.tracking
    [sms] = sms_to(core, "+966569876543")
    assert case.tracking in sms


def test_a_message_too_short_or_none_is_not_filed_and_asked_again(client, core):
    phone = Phone(client, caller=f.MOBILE_E164)
    phone.call()
    phone.press("2")
    phone.press("2")
    phone.speak(1)
    assert "We did not hear a message, so nothing was filed." in phone.heard()
    assert phone.twiml.find("Record") is not None
    assert "Say your complaint after the tone" in phone.heard()  # the short prompt
    phone.silence()  # nothing recorded at all: the <Redirect>
    assert "We did not hear a message" in phone.heard()
    phone.silence()
    assert phone.hung_up()
    assert cases(core) == [] and sms_to(core, f.MOBILE_E164) == []


def test_a_caller_over_the_filing_limit_is_told_and_nothing_is_filed(database_url,
                                                                     tmp_path, core):
    from gateway.app import create_app
    from gateway.bootstrap import build_core

    settings = ivr_settings(database_url, tmp_path)
    settings = settings.model_copy(update={"voice": settings.voice.model_copy(
        update={"max_cases_per_citizen": 1})})
    strict = build_core(settings, background_log=False)
    try:
        client = create_app(settings, strict).test_client()
        for expected in ("Your complaint was received", "as many complaints as allowed"):
            phone = Phone(client, caller=f.MOBILE_E164)
            phone.call()
            phone.press("2")
            phone.press("2")
            phone.speak(20)
            assert expected in phone.heard()
        assert phone.hung_up()
    finally:
        strict.close()
    assert len(cases(core)) == 1


# --- the recording fetched into the database ---------------------------------------------


class FakeTwilio(BaseHTTPRequestHandler):
    """Serves a recording at <path>.mp3 to the account's basic authentication only."""

    seen: list[tuple[str, str | None]] = []

    def do_GET(self):  # noqa: N802 (http.server's name)
        auth = self.headers.get("Authorization")
        type(self).seen.append((self.path, auth))
        expected = "Basic " + base64.b64encode(
            f"{ACCOUNT_SID}:{AUTH_TOKEN}".encode()).decode()
        if auth != expected:
            self.send_response(401)
            self.end_headers()
            return
        if not self.path.endswith(".mp3") or "missing" in self.path:
            self.send_response(404)
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Type", "audio/mpeg")
        self.send_header("Content-Length", str(len(AUDIO)))
        self.end_headers()
        self.wfile.write(AUDIO)

    def log_message(self, *args):
        pass


@pytest.fixture
def fake_twilio():
    FakeTwilio.seen = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeTwilio)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def leave_message(client, recording_url: str, seconds: int = 30) -> Phone:
    phone = Phone(client, caller=f.MOBILE_E164)
    phone.call()
    phone.press("2")
    phone.press("2")
    phone.post(f"{PUBLIC_URL}/ivr/recorded", **{
        **Phone.recording(seconds), "RecordingUrl": recording_url})
    return phone


def test_the_scheduler_fetches_the_recording_into_the_database_once(client, core, settings,
                                                                    fake_twilio):
    url = f"{fake_twilio}/2010-04-01/Accounts/{ACCOUNT_SID}/Recordings/RE{'7' * 32}"
    leave_message(client, url)
    fetcher = RecordingFetcher(ACCOUNT_SID, AUTH_TOKEN, ["127.0.0.1"])
    first, second = Scheduler(core, settings, fetcher=fetcher), \
        Scheduler(core, settings, fetcher=fetcher)
    assert first.fetch_recordings() == {"fetched": 1, "failed": 0, "given_up": 0}
    assert second.fetch_recordings() is None  # the lease is the first's
    assert first.fetch_recordings() == {"fetched": 0, "failed": 0, "given_up": 0}
    assert [path for path, _ in FakeTwilio.seen] == [
        f"/2010-04-01/Accounts/{ACCOUNT_SID}/Recordings/RE{'7' * 32}.mp3"]
    [stored] = attachments(core)
    assert stored.data == AUDIO and stored.byte_size == len(AUDIO)
    assert stored.fetched_at is not None and stored.content_type == "audio/mpeg"
    # Staff see it as ready to play (the portal's page lists it so).
    from core.voice.attachments import listed

    with core.db.read() as session:
        [view] = listed(session, stored.case_id)
    assert view.ready and view.seconds == 30
    shown = client.get("/healthz").get_json()["voice"]["recordings"]
    assert shown["holder"] == first.holder and shown["live"]
    assert (shown["fetched"], shown["failed"]) == (0, 0)  # the last pass's figures


def test_a_failed_fetch_is_tried_again_later_and_given_up_at_last(client, core, settings,
                                                                  fake_twilio):
    leave_message(client, f"{fake_twilio}/2010-04-01/Accounts/x/Recordings/missing")
    scheduler = Scheduler(core, settings,
                          fetcher=RecordingFetcher(ACCOUNT_SID, AUTH_TOKEN, ["127.0.0.1"]))
    assert scheduler.fetch_recordings() == {"fetched": 0, "failed": 1, "given_up": 0}
    # Not due again until its pause has passed.
    assert scheduler.fetch_recordings() == {"fetched": 0, "failed": 0, "given_up": 0}
    [row] = attachments(core)
    assert row.fetch_attempts == 1
    for attempts in range(1, MAX_FETCH_ATTEMPTS):
        later = Scheduler(core, settings, clock=lambda a=attempts: next_try_at(
            row.created_at, a),
            fetcher=RecordingFetcher(ACCOUNT_SID, AUTH_TOKEN, ["127.0.0.1"]))
        later.holder = scheduler.holder
        result = later.fetch_recordings()
        assert result["failed"] == 1
    assert result["given_up"] == 1
    [row] = attachments(core)
    assert (row.fetch_attempts, row.data) == (MAX_FETCH_ATTEMPTS, None)


def test_a_recording_url_on_another_host_is_refused_never_fetched(client, core, settings,
                                                                  fake_twilio):
    # A URL the webhook named on a host not allowed (here the fake Twilio itself, not in
    # the list): nothing is requested, and the recording is given up at once.
    leave_message(client, f"{fake_twilio}/2010-04-01/Accounts/x/Recordings/RE1")
    scheduler = Scheduler(core, settings,
                          fetcher=RecordingFetcher(ACCOUNT_SID, AUTH_TOKEN,
                                                   ["api.twilio.com"]))
    assert scheduler.fetch_recordings() == {"fetched": 0, "failed": 1, "given_up": 1}
    assert FakeTwilio.seen == []
    [row] = attachments(core)
    assert row.fetch_attempts == MAX_FETCH_ATTEMPTS and row.data is None


@pytest.mark.parametrize("url", [
    "http://api.twilio.com/2010-04-01/Accounts/AC1/Recordings/RE1",  # not HTTPS
    "https://api.twilio.com.evil.example/Recordings/RE1",
    "https://user:pw@api.twilio.com/Recordings/RE1",
    "https://169.254.169.254/latest/meta-data",
    "http://127.0.0.1:8080/admin",  # loopback, but not listed
    "file:///etc/passwd",
])
def test_the_fetcher_refuses_urls_that_are_not_twilios(url):
    fetcher = RecordingFetcher(ACCOUNT_SID, AUTH_TOKEN, ["api.twilio.com"])
    with pytest.raises(FetchRefused):
        fetcher.fetch(url)
    assert fetcher.url("https://api.twilio.com/2010-04-01/Accounts/AC1/Recordings/RE1") \
        == "https://api.twilio.com/2010-04-01/Accounts/AC1/Recordings/RE1.mp3"


# --- a case's state by its tracking number -----------------------------------------------


def follow(client, tracking: str, *, caller: str, verstat: str | None = None,
           lang: str = "2") -> Phone:
    phone = Phone(client, caller=caller, verstat=verstat)
    phone.call()
    phone.press(lang)
    phone.press("3")
    phone.press(tracking + "#")
    return phone


def test_the_citizen_hears_the_state_and_the_answer_by_keying_in_their_mobile(client,
                                                                              core):
    world = build_world(core)
    tracking = world.walk("complaint", "answered")
    phone = follow(client, tracking, caller=LANDLINE)
    assert f"You entered {spoken_digits(tracking)}." in phone.heard()
    assert "enter the mobile number you gave with it" in phone.heard()
    phone.press(CITIZEN_MOBILE + "#")
    heard = phone.heard()
    assert f"Case number {spoken_digits(tracking)}: answered." in heard
    assert "The answer: سيصلح خلال أسبوع" in heard
    # An Arabic answer in the Arabic voice, though the call is in English.
    [answer] = [e for e in phone.twiml.iter("Say") if e.text == "سيصلح خلال أسبوع"]
    assert answer.attrib["voice"] == "Polly.Zeina"
    phone.press("1")
    assert "The answer: سيصلح خلال أسبوع" in phone.heard()


def test_an_attested_caller_id_that_is_the_cases_mobile_needs_no_more(client, core):
    world = build_world(core)
    tracking = world.walk("complaint", "assigned")
    phone = follow(client, tracking, caller=f.MOBILE_E164, verstat=ATTESTED, lang="1")
    assert f"الحالة رقم {spoken_digits(tracking)}: قيد الدراسة." in phone.heard()
    assert "الجوال" not in phone.heard()  # not asked for the mobile
    # The same caller ID, not attested: asked for the mobile like anyone.
    phone = follow(client, tracking, caller=f.MOBILE_E164, lang="1")
    assert "قيد الدراسة" not in phone.heard() and "رقم الجوال" in phone.heard()


def test_a_stranger_hears_no_such_case_as_for_a_number_that_does_not_exist(client, core):
    world = build_world(core)
    tracking = world.walk("complaint", "answered")
    heard = []
    for number in (tracking, "7" + "1" * 8 + str(damm("71111111" + "1"))):
        phone = follow(client, number, caller=LANDLINE)
        phone.press("0569876543#")
        heard.append(phone.responses[-1])
        assert "No case was found for these details." in phone.heard()
        assert "answered" not in phone.heard() and "سيصلح" not in phone.heard()
    assert heard[0] == heard[1]


def damm(digits: str) -> int:
    from core.voice.tracking import damm_digit

    return damm_digit(digits)


def test_guessing_the_mobile_of_a_case_is_cut_off_by_the_limits(client, core):
    world = build_world(core)
    tracking = world.walk("complaint", "answered")
    refused = False
    for guess in range(12):
        phone = follow(client, tracking, caller=LANDLINE)
        phone.press(f"05600000{guess:02d}#")
        if "Too many attempts" in phone.heard():
            refused = True
            break
        assert "No case was found" in phone.heard()
    assert refused and guess == 10  # inquiry.max_failures wrong guesses, then refused
    # Even the right mobile is refused now, from the same (unvouched) line.
    phone = follow(client, tracking, caller=LANDLINE)
    phone.press(CITIZEN_MOBILE + "#")
    assert "Too many attempts" in phone.heard() and "answered" not in phone.heard()
    # The owner calling from their own attested mobile is still answered.
    phone = follow(client, tracking, caller=f.MOBILE_E164, verstat=ATTESTED)
    assert "answered" in phone.heard()


def test_in_play_mode_the_answer_is_said_to_be_in_the_sms_and_prompts_are_recorded(
        database_url, tmp_path, core):
    from channels.ivr.audio import AudioLibrary, audio_dir
    from channels.ivr.prompts import all_phrases
    from gateway.app import create_app

    phrases = set(all_phrases())
    # `gateway prompts render` records the new prompts and the states in words.
    for lang, phrase in [("ar", "بعد سماع الصافرة، اذكر شكواك: ماذا حدث، وأين، ومتى. "
                                "واضغط مفتاح المربع عند الانتهاء"),
                         ("ar", "تم استلام شكواك. رقم المتابعة"), ("ar", "قيد الدراسة"),
                         ("en", "The answer was sent to your mobile by text message"),
                         ("en", "waiting for your reply")]:
        assert (lang, phrase) in phrases
    settings = ivr_settings(database_url, tmp_path, voice={"mode": "play"})
    library = AudioLibrary(audio_dir(settings), settings.ivr.voice, PUBLIC_URL)
    library.directory.mkdir(parents=True)
    library.path("en", "answered").write_bytes(b"RIFF-not-checked-here")
    client = create_app(settings, core).test_client()
    tracking = build_world(core).walk("complaint", "answered")
    phone = follow(client, tracking, caller=LANDLINE)
    phone.press(CITIZEN_MOBILE + "#")
    plays = [e.text for e in phone.twiml.iter("Play")]
    assert library.url("en", "answered") in plays
    assert "The answer was sent to your mobile by text message" in phone.heard()
    assert "سيصلح" not in phone.heard()
