"""bench/kiosk.py runs: its kiosk starts with the bench's settings and saves every screen."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from core.platform.settings import REPO_ROOT

# Every screen of the README's table.
SCREENS = ("home", "number", "number-landscape", "national-id", "waiting", "result",
           "not-found", "receipt", "still-there", "offline", "rate-limited", "out-of-service",
           "pin", "maintenance")
VOICE_SCREENS = ("voice", "voice-agency", "voice-category", "keyboard-arabic",
                 "keyboard-english", "voice-mobile", "voice-confirm", "voice-filed",
                 "follow-tracking", "follow-asked", "follow-answered", "follow-code")
MINE_SCREENS = ("mine-id", "mine-code", "mine-list")


# The order bench.screenshots saves them in, and the window's state each shows: its
# screen, whether an answer was found, the receipt printed, the kiosk offline, the
# window's width (the landscape number screen), then the language.
SHOT_ORDER = ("home", "number", "number-landscape", "national-id", "waiting", "result",
              "receipt", "still-there", "not-found", "offline", "rate-limited",
              "out-of-service", "pin", "maintenance", *VOICE_SCREENS, *MINE_SCREENS)
STATE = {
    "home": ("home", None, False, False, 720),
    "number": ("number", None, False, False, 720),
    "number-landscape": ("number", None, False, False, 1366),
    "national-id": ("national_id", None, False, False, 720),
    "waiting": ("waiting", None, False, False, 720),
    "result": ("result", True, False, False, 720),
    "receipt": ("receipt", True, True, False, 720),
    "still-there": ("still_there", True, True, False, 720),
    "not-found": ("result", False, False, False, 720),
    "offline": ("offline", None, False, True, 720),
    "rate-limited": ("rate_limited", None, False, False, 720),
    "out-of-service": ("error", None, False, False, 720),
    "pin": ("pin", None, False, False, 720),
    "maintenance": ("maintenance", None, False, False, 720),
    "voice": ("voice", None, False, False, 720),
    "voice-agency": ("voice_agency", None, False, False, 720),
    "voice-category": ("voice_category", None, False, False, 720),
    "keyboard-arabic": ("voice_text", None, False, False, 720),
    "keyboard-english": ("voice_text", None, False, False, 720),
    "voice-mobile": ("voice_mobile", None, False, False, 720),
    "voice-confirm": ("voice_confirm", None, False, False, 720),
    "voice-filed": ("voice_filed", None, False, False, 720),
    "follow-tracking": ("follow_tracking", None, False, False, 720),
    "follow-asked": ("follow_case", None, False, False, 720),
    "follow-answered": ("follow_case", None, False, False, 720),
    "follow-code": ("follow_code", None, False, False, 720),
    "mine-id": ("mine_id", None, False, False, 720),
    "mine-code": ("mine_code", None, False, False, 720),
    "mine-list": ("mine_list", None, False, False, 720),
}


def record_every_grab(window) -> list[tuple[tuple, str]]:
    """Wrap ``window.grab``: for each grab, the window's state then and a hash of the
    grabbed pixels."""
    import hashlib

    seen: list[tuple[tuple, str]] = []
    grab = window.grab

    def recorded(*args):
        image = grab(*args).toImage()
        state = window.flow.state
        found = state.reply.found if state.reply is not None else None
        seen.append(((state.screen.value, found, state.printed, state.offline,
                      window.width(), state.lang),
                     hashlib.sha256(bytes(image.constBits().asarray(image.sizeInBytes())))
                     .hexdigest()))
        from PyQt6.QtGui import QPixmap

        return QPixmap.fromImage(image)

    window.grab = recorded
    return seen


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_kiosk", REPO_ROOT / "bench" / "kiosk.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_bench_kiosk_answers_and_saves_every_screen(qt, bench, tmp_path: Path):
    url, token, stop = bench.serve_gateway(tmp_path)
    try:
        app, window = bench.kiosk_window(url, token, tmp_path)
        try:
            window.probe()
            [elapsed] = bench.tap_to_answer(app, window, 1)
            assert elapsed > 0
            seen = record_every_grab(window)
            saved = bench.screenshots(app, window, tmp_path / "shots")
        finally:
            window.shutdown()
            window.close()
    finally:
        stop()
    assert sorted(path.name for path in saved) == sorted(
        f"{screen}-{lang}.png" for lang in ("ar", "en")
        for screen in (*SCREENS, *VOICE_SCREENS, *MINE_SCREENS))
    assert (bench.SCREENS, bench.VOICE_SCREENS, bench.MINE_SCREENS) == (
        SCREENS, VOICE_SCREENS, MINE_SCREENS)
    # Each file shows the screen its name says, as the window stood when it was saved,
    # and no two files show the same pixels.
    assert [(path.name, *shown) for path, (shown, _) in zip(saved, seen, strict=True)] == [
        (f"{screen}-{lang}.png", *STATE[screen], lang)
        for lang in ("ar", "en") for screen in SHOT_ORDER]
    assert len({pixels for _, pixels in seen}) == len(saved)
    assert all(path.stat().st_size > 5000 for path in saved)
    from PyQt6.QtGui import QImage

    assert QImage(str(tmp_path / "shots" / "number-landscape-ar.png")).size().height() == 768
    assert QImage(str(tmp_path / "shots" / "number-ar.png")).size().height() == 1280


def test_the_readme_shows_every_screen_in_both_languages():
    readme = (REPO_ROOT / "README.md").read_text()
    for screen in (*SCREENS, *VOICE_SCREENS, *MINE_SCREENS):
        for lang in ("ar", "en"):
            shot = f"docs/kiosk/{screen}-{lang}.png"
            assert f"]({shot})" in readme and (REPO_ROOT / shot).stat().st_size > 5000, shot
