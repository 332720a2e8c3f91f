"""The call simulator in real headless Chromium: the step's recordings play in order."""

from __future__ import annotations

import math
import struct
import wave

import pytest

from core.access.tokens import create_token
from tests import factories as f
from tests.gateway.live import serving
from tests.gateway.test_ivr_webhooks import ivr_settings

pytestmark = pytest.mark.browser

# The language menu's phrases (the English welcome is left unrecorded: said, not played).
RECORDED = [("ar", "مرحبًا بكم في خط الاستعلام عن المعاملات في إمارة المنطقة"),
            ("ar", "للعربية اضغط واحد"), ("en", "For English, press 2")]


def _tone(path, seconds: float, pitch: float) -> None:
    rate = 8000
    with wave.open(str(path), "wb") as audio:
        audio.setnchannels(1)
        audio.setsampwidth(2)
        audio.setframerate(rate)
        audio.writeframes(b"".join(
            struct.pack("<h", int(8000 * math.sin(2 * math.pi * pitch * n / rate)))
            for n in range(int(rate * seconds))))


@pytest.fixture
def simulator_url(database_url, tmp_path, core, transaction):
    from channels.ivr.audio import AudioLibrary, audio_dir
    from channels.ivr.speech import sentence
    from gateway.app import create_app

    settings = ivr_settings(database_url, tmp_path, voice={"mode": "play"})
    library = AudioLibrary(audio_dir(settings), settings.ivr.voice, "")
    library.directory.mkdir(parents=True)
    welcome = sentence("ar", "welcome").phrases
    assert welcome == (RECORDED[0][1],), welcome
    for i, (lang, phrase) in enumerate(RECORDED):
        _tone(library.path(lang, phrase), 0.3, 440 + 110 * i)
    with serving(create_app(settings, core)) as url:
        yield url, create_token(core.db.write, "staff", "t")


def test_the_steps_recordings_play_one_after_another(chromium, simulator_url):
    url, token = simulator_url
    errors: list[str] = []
    page = chromium.new_page()
    page.on("console", lambda msg: msg.type == "error" and errors.append(msg.text))
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(url + "/simulator/login?lang=en")
    page.fill("#token", token)
    page.locator("form button[type=submit]").last.click()
    page.goto(url + "/simulator/call?lang=en")
    page.fill("#caller", f.MOBILE)
    page.get_by_role("button", name="Call", exact=True).click()
    # Started by the script, no click on the page: the prompts play, in order.
    page.wait_for_selector("body[data-prompts=played]", timeout=15_000)
    played = page.eval_on_selector_all(
        "audio.prompt-audio", "els => els.map(e => [e.getAttribute('src'), "
        "e.getAttribute('data-played'), e.ended])")
    page.close()  # its context with it, before the server stops
    assert [(order, ended) for _src, order, ended in played] == [
        ("1", True), ("2", True), ("3", True)]
    assert errors == []  # no CSP violation, no missing file
