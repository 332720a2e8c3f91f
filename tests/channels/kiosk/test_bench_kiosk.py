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
            saved = bench.screenshots(app, window, tmp_path / "shots")
        finally:
            window.shutdown()
            window.close()
    finally:
        stop()
    assert sorted(path.name for path in saved) == sorted(
        f"{screen}-{lang}.png" for lang in ("ar", "en") for screen in SCREENS)
    assert bench.SCREENS == SCREENS
    assert all(path.stat().st_size > 5000 for path in saved)
    from PyQt6.QtGui import QImage

    assert QImage(str(tmp_path / "shots" / "number-landscape-ar.png")).size().height() == 768
    assert QImage(str(tmp_path / "shots" / "number-ar.png")).size().height() == 1280


def test_the_readme_shows_every_screen_in_both_languages():
    readme = (REPO_ROOT / "README.md").read_text()
    for screen in SCREENS:
        for lang in ("ar", "en"):
            shot = f"docs/kiosk/{screen}-{lang}.png"
            assert f"]({shot})" in readme and (REPO_ROOT / shot).stat().st_size > 5000, shot
