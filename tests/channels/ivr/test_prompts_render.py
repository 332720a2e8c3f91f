"""Rendering prompts offline with pyttsx3 and the real espeak-ng (its Arabic voice)."""

from __future__ import annotations

import shutil
import sys
import wave
from pathlib import Path

import pytest
from click.testing import CliRunner

from channels.ivr.audio import AudioLibrary, audio_dir
from channels.ivr.prompts import RenderError, all_phrases, check_wav, render
from gateway.cli import main
from gateway.settings import load_settings
from tests.conftest import NATIONAL_ID_KEY, require_peer


def _espeak() -> None:
    try:
        import pyttsx3  # noqa: F401
    except ImportError:
        require_peer(False, "pyttsx3")
    require_peer(shutil.which("espeak-ng") is not None, "espeak-ng (apt install espeak-ng)")


@pytest.fixture
def settings(tmp_path):
    return load_settings(None, var_dir=str(tmp_path), database={"url": "sqlite://"},
                         security={"national_id_key": NATIONAL_ID_KEY})


def _sane(path: Path) -> float:
    assert check_wav(path) is None, check_wav(path)
    with wave.open(str(path), "rb") as audio:
        assert audio.getnchannels() == 1 and audio.getsampwidth() == 2
        seconds = audio.getnframes() / audio.getframerate()
    assert 0.1 < seconds < 15
    return seconds


def test_a_few_prompts_render_in_both_languages_one_file_each(settings):
    _espeak()
    phrases = [("ar", "للعربية اضغط واحد"), ("ar", "7"), ("ar", "جمادى الأولى"),
               ("en", "For English, press 2"), ("en", "Thank you for calling")]

    report = render(settings, phrases)

    assert report.failed == [] and len(report.rendered) == len(phrases)
    library = AudioLibrary(audio_dir(settings), settings.ivr.voice, "https://x")
    seconds = {text: _sane(library.path(lang, text)) for lang, text in phrases}
    # Each file holds its own phrase (queued saves would leave one file for all of them).
    assert seconds["للعربية اضغط واحد"] > seconds["7"]
    assert len({library.path(lang, text).read_bytes() for lang, text in phrases}) == 5
    assert not list(library.directory.glob(".*.tmp"))

    again = render(settings, phrases)
    assert (again.rendered, again.skipped) == ([], len(phrases))


def test_a_changed_voice_is_a_new_file_name(settings):
    other = settings.model_copy(deep=True)
    other.ivr.voice.rate = 120
    one = AudioLibrary(audio_dir(settings), settings.ivr.voice, "")
    two = AudioLibrary(audio_dir(other), other.ivr.voice, "")
    assert one.path("ar", "7") != two.path("ar", "7")
    assert one.path("ar", "7") != one.path("en", "7")


def test_a_broken_file_is_reported(tmp_path):
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"RIFF")
    assert "not a WAV" in check_wav(bad)


def _wav(path: Path, frames: int, rate: int = 22050) -> Path:
    with wave.open(str(path), "wb") as audio:
        audio.setnchannels(1)
        audio.setsampwidth(2)
        audio.setframerate(rate)
        audio.writeframes(b"\x01\x00" * frames)
    return path


@pytest.mark.parametrize(("frames", "problem"), [
    (0, "empty"), (1, "too short"), (1000, "too short"), (22050 * 31, "31.0 s long")])
def test_a_file_too_short_or_too_long_is_reported(tmp_path, frames, problem):
    assert problem in check_wav(_wav(tmp_path / "x.wav", frames))


def test_a_file_of_a_usable_length_passes(tmp_path):
    assert check_wav(_wav(tmp_path / "x.wav", 22050 // 10)) is None  # 0.1 s


def test_gateway_prompts_render_rejects_what_an_engine_wrote_as_one_frame(
        tmp_path, monkeypatch):
    # An engine that writes a header and one frame for every phrase (seen with a voice
    # that does not load): the command fails and names the phrases.
    engine = tmp_path / "one-frame-engine"
    engine.write_text(f"""#!{sys.executable}
import json, sys, wave
for job in json.load(sys.stdin)["jobs"]:
    with wave.open(job["path"], "wb") as audio:
        audio.setnchannels(1); audio.setsampwidth(2); audio.setframerate(22050)
        audio.writeframes(b"\\x01\\x00")
    print("done", flush=True)
""")
    engine.chmod(0o755)
    monkeypatch.setattr("channels.ivr.prompts.sys.executable", str(engine))
    env = {"GATEWAY_CONFIG": None, "GATEWAY__VAR_DIR": str(tmp_path),
           "GATEWAY__SECURITY__NATIONAL_ID_KEY": NATIONAL_ID_KEY}

    result = CliRunner().invoke(main, ["prompts", "render"], env=env)

    assert result.exit_code == 1, result.output
    assert "too short" in result.output and "للعربية اضغط واحد" in result.output
    assert f"{len(all_phrases())} failed" in result.output


def test_a_speech_engine_that_cannot_start_is_an_error_not_a_hang(settings, monkeypatch):
    monkeypatch.setattr("channels.ivr.prompts.sys.executable", "/bin/false")
    with pytest.raises(RenderError):
        render(settings, [("ar", "7")])


def test_every_phrase_the_line_may_play_is_listed():
    phrases = set(all_phrases())
    assert {("ar", "للعربية اضغط واحد"), ("en", "For English, press 2"), ("ar", "0"),
            ("en", "9"), ("ar", "ذو الحجة"), ("en", "December"), ("ar", "أحيلت إلى"),
            ("en", "Referred to"), ("ar", "31"), ("ar", "1447")} <= phrases
    assert all(text.strip() for _lang, text in phrases)


@pytest.mark.parametrize("lang", ["ar", "en"])
def test_every_time_date_and_status_the_line_speaks_is_made_of_recordings(lang):
    from datetime import date, time, timedelta

    from channels.ivr.hours import WEEKDAYS
    from channels.ivr.speech import (
        digits,
        recordable_phrases,
        recording_years,
        sentence,
        spoken_date,
        status_sentence,
        working_hours,
    )
    from core.transactions.answer import Name, TransactionView

    today = date(2026, 12, 1)
    recorded = set(recordable_phrases(lang, recording_years(today)))

    def unrecorded(spoken) -> set[str]:
        return set(spoken.phrases) - recorded

    # Working hours at any minute (08:45, 07:30 ...) and on any days.
    for hour in range(24):
        for minute in range(60):
            moment = time(hour, minute)
            assert not unrecorded(working_hours(lang, WEEKDAYS, moment, moment)), moment
    assert not unrecorded(working_hours(lang, ["thu", "sat"], time(9), time(13)))
    # Every registration date of the last ten years.
    day = today.replace(year=today.year - 10)
    while day <= today:
        assert not unrecorded(spoken_date(day, lang)), day
        day += timedelta(days=1)
    # Every status: all but the names of departments and agencies.
    names = {"إدارة", "Department", "وزارة", "Ministry"}
    for status in ("registered", "referred", "assigned", "issued", "reply_received",
                   "closed"):
        view = TransactionView(number="4471234", status=status, subject="",
                               registered_at=None, department=Name("إدارة", "Department"),
                               destination_agency=Name("وزارة", "Ministry"),
                               reply_expected=status == "issued")
        assert unrecorded(status_sentence(view, lang)) <= names, status
    for key in ("number_is", "you_entered"):
        assert not unrecorded(sentence(lang, key, **{"number" if key == "number_is"
                                                      else "digits": digits("4471234")}))


def test_gateway_prompts_render_makes_every_prompt_a_valid_wav(tmp_path):
    _espeak()
    env = {"GATEWAY_CONFIG": None, "GATEWAY__VAR_DIR": str(tmp_path),
           "GATEWAY__SECURITY__NATIONAL_ID_KEY": NATIONAL_ID_KEY}

    result = CliRunner().invoke(main, ["prompts", "render"], env=env)

    assert result.exit_code == 0, result.output
    files = sorted((tmp_path / "ivr-prompts").glob("*.wav"))
    assert len(files) == len(all_phrases())
    assert {path.name[:2] for path in files} == {"ar", "en"}
    for path in files:
        _sane(path)
    assert f"{len(files)} prompt(s) rendered" in result.output


def test_a_speech_engine_that_hangs_is_killed(settings, monkeypatch, tmp_path):
    hanging = tmp_path / "hanging-engine"
    hanging.write_text("#!/bin/sh\nexec sleep 60\n")
    hanging.chmod(0o755)
    monkeypatch.setattr("channels.ivr.prompts.sys.executable", str(hanging))
    monkeypatch.setattr("channels.ivr.prompts.STARTUP_SECONDS", 0.2)
    with pytest.raises(RenderError, match="stopped answering"):
        render(settings, [("ar", "7")], timeout=0.2)
