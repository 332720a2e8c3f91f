"""Every page fits the kiosk's screen, from 1024x600 landscape to 1080x1920 portrait.

The window is resized to each screen size (offscreen) and walked through every page in
both languages, with what a citizen would see there (the gateway's real answers, the
hints under the keypad, the printer's apology): every button must lie inside the
window, be a 64 px touch target and overlap nothing, no text may be cut, and the keypad
still reads 1-2-3 from the left.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime

import pytest
from PyQt6.QtCore import QRect, QSize
from PyQt6.QtWidgets import QAbstractScrollArea, QApplication, QLabel, QPushButton, QWidget

from channels.kiosk.state import Reply
from channels.kiosk.widgets import CORNER_PX, MIN_TOUCH_PX
from core.platform.settings import REPO_ROOT
from tests import factories as f

NUMBER = "4471234"
UNKNOWN = "9990001"
PIN = "246813"
WAIT_MS = 15_000
SIZES = [(1024, 600), (1280, 800), (1366, 768), (1920, 1080), (1080, 1920)]
SIZE_IDS = [f"{w}x{h}" for w, h in SIZES]


@pytest.fixture
def transaction(core):
    core.upsert_department("RIGHTS", f.department())
    core.record_event(f.registered(NUMBER, "2026-11-23T09:15:00+03:00"))


def in_window(window: QWidget, widget: QWidget) -> QRect:
    return QRect(widget.mapTo(window, widget.rect().topLeft()), widget.size())


def layout_problems(window, size: tuple[int, int], where: str) -> list[str]:
    """What is wrong with the page on screen now (nothing, if it fits)."""
    QApplication.processEvents()
    problems = []
    if window.size() != QSize(*size):
        problems.append(f"{where}: the window is {window.size()}, the screen {size}")
    screen = QRect(0, 0, *size)
    page = window.stack.currentWidget()
    if isinstance(page, QAbstractScrollArea):
        if page.verticalScrollBar().isVisible():
            problems.append(f"{where}: the page scrolls")
        page = page.viewport()
    viewport = in_window(window, page)
    shown = [widget for widget in window.findChildren((QPushButton, QLabel))
             if widget.isVisible() and widget is not window.corner]
    for widget in shown:
        rect, name = in_window(window, widget), f"{where}: {widget.objectName()}"
        if not screen.contains(rect):
            problems.append(f"{name} {rect} is not inside the screen")
        if widget is not window.w["language"] and not viewport.contains(rect):
            problems.append(f"{name} {rect} is cut by the page's edge {viewport}")
        if isinstance(widget, QPushButton):
            if widget.width() < MIN_TOUCH_PX or widget.height() < MIN_TOUCH_PX:
                problems.append(f"{name} is only {widget.size()}")
            if widget.sizeHint().width() > widget.width():
                problems.append(f"{name}: its text does not fit {widget.size()}")
            if rect.intersects(QRect(0, 0, CORNER_PX, CORNER_PX)):
                problems.append(f"{name} is under the technician's corner")
        elif widget.text().strip() and widget.heightForWidth(widget.width()) > widget.height():
            problems.append(f"{name}: its text is cut ({widget.size()})")
    for i, one in enumerate(shown):
        for other in shown[i + 1:]:
            if in_window(window, one).intersects(in_window(window, other)):
                problems.append(f"{where}: {one.objectName()} overlaps {other.objectName()}")
    if window.screen_name in ("number", "national_id", "pin"):
        problems += keypad_problems(window, where)
    return problems


def keypad_problems(window, where: str) -> list[str]:
    """The dialer's order, left to right in every language: 1 2 3 / ... / delete 0 next."""
    keypad = window.keypad
    rows = [[keypad.keys[d] for d in "123"], [keypad.keys[d] for d in "456"],
            [keypad.keys[d] for d in "789"], [keypad.delete, keypad.keys["0"], keypad.next]]
    problems = []
    tops = []
    for row in rows:
        rects = [in_window(window, key) for key in row]
        if not (rects[0].right() < rects[1].left() and rects[1].right() < rects[2].left()):
            problems.append(f"{where}: keys {[k.objectName() for k in row]} not left to right")
        if len({rect.top() for rect in rects}) != 1:
            problems.append(f"{where}: keys {[k.objectName() for k in row]} not in a row")
        tops.append(rects[0].top())
    if tops != sorted(tops) or len(set(tops)) != 4:
        problems.append(f"{where}: keypad rows out of order {tops}")
    return problems


def key_in(window, digits: str) -> None:
    for digit in digits:
        window.intent(window.flow.digit, digit)


def walk(qtbot, window, lang: str):
    """Every page with what it shows at its fullest; yields a name for each."""
    flow = window.flow
    window.intent(flow.finish)
    if flow.state.lang != lang:
        window.intent(flow.switch_language)
    yield "home"
    window.intent(flow.start)
    key_in(window, NUMBER[:2])
    window.intent(flow.next)
    yield "number, too short"
    key_in(window, NUMBER[2:])
    yield "number"
    window.intent(flow.next)
    key_in(window, f.NATIONAL_ID[:4])
    window.intent(flow.next)
    yield "national ID, wrong length"
    key_in(window, f.NATIONAL_ID[4:])
    effects = flow.next()
    window.render()
    yield "waiting"
    window.run(effects)
    qtbot.waitUntil(lambda: window.screen_name == "result", timeout=WAIT_MS)
    yield "result"
    [job] = flow.print_receipt()
    flow.printed(job.session, "printer_problem")
    window.render()
    yield "result, printer problem"
    window.intent(flow.print_receipt)
    qtbot.waitUntil(lambda: flow.state.printed, timeout=WAIT_MS)
    yield "receipt"
    for _ in range(flow.idle_seconds):
        window.tick()
    yield "still there"
    window.intent(flow.still_here)
    window.intent(flow.finish)
    window.intent(flow.start)
    key_in(window, UNKNOWN)
    window.intent(flow.next)
    key_in(window, f.NATIONAL_ID)
    window.intent(flow.next)
    qtbot.waitUntil(lambda: window.screen_name == "result", timeout=WAIT_MS)
    yield "not found"
    window.intent(flow.finish)
    flow.unreachable()
    window.render()
    yield "offline"
    flow.reached(datetime.now(UTC))
    window.intent(flow.start)
    key_in(window, NUMBER)
    window.intent(flow.next)
    key_in(window, f.NATIONAL_ID)
    flow.next()
    flow.answered(Reply(found=False, text="", rate_limited=True), datetime.now(UTC))
    window.render()
    yield "rate limited"
    window.intent(flow.finish)
    flow.refused("unauthorized", sticky=True)
    window.render()
    yield "out of service"
    flow.reached(datetime.now(UTC))
    window.intent(flow.finish)
    window.intent(flow.technician)
    key_in(window, PIN)
    window.intent(flow.next)
    qtbot.waitUntil(lambda: not window.errands.probing, timeout=WAIT_MS)
    window.render()
    yield "maintenance"
    window.intent(flow.finish)
    window.intent(flow.technician)
    for _ in range(3):
        key_in(window, "111111")
        window.intent(flow.next)
    yield "pin, locked"
    window.intent(flow.finish)


@pytest.mark.parametrize("large_text", [False, True], ids=["normal", "large-text"])
@pytest.mark.parametrize("size", SIZES, ids=SIZE_IDS)
def test_every_page_fits_the_screen_in_both_languages(qtbot, kiosk, transaction, size,
                                                      large_text):
    # As a kiosk configured for large text (a citizen's own choice ends at "done").
    kiosk.flow.large_text = large_text
    kiosk.resize(*size)  # a window that needs more than the screen stays bigger
    QApplication.processEvents()
    problems, seen = [], []
    for lang in ("ar", "en"):
        for where in walk(qtbot, kiosk, lang):
            seen.append((lang, kiosk.screen_name))
            assert kiosk.flow.state.large_text == large_text
            problems += layout_problems(kiosk, size, f"{lang} {where}")
    assert not problems, "\n".join(problems)
    assert {screen for _, screen in seen} == {
        "home", "number", "national_id", "waiting", "result", "receipt", "still_there",
        "offline", "rate_limited", "error", "maintenance", "pin"}


def test_landscape_puts_the_keypad_beside_the_prompt(qtbot, kiosk):
    kiosk.resize(1366, 768)
    kiosk.intent(kiosk.flow.start)
    QApplication.processEvents()
    prompt, keypad = in_window(kiosk, kiosk.w["prompt"]), in_window(kiosk, kiosk.keypad)
    # Arabic: the prompt on the right, where it is read first; the keypad on the left.
    assert keypad.right() < prompt.left()
    assert kiosk.keypad.keys["1"].height() > 80  # the height goes to the keys
    kiosk.intent(kiosk.flow.switch_language)
    QApplication.processEvents()
    prompt, keypad = in_window(kiosk, kiosk.w["prompt"]), in_window(kiosk, kiosk.keypad)
    assert prompt.right() < keypad.left()


def test_a_text_too_long_for_the_screen_scrolls_and_cuts_nothing(qtbot, kiosk):
    kiosk.flow.large_text = True
    kiosk.intent(kiosk.flow.finish)
    kiosk.resize(1024, 600)
    kiosk.intent(kiosk.flow.start)
    key_in(kiosk, NUMBER)
    kiosk.intent(kiosk.flow.next)
    key_in(kiosk, f.NATIONAL_ID)
    kiosk.flow.next()
    long_answer = "\n".join(f"Line {n} of an answer far longer than any today" for n in range(12))
    kiosk.flow.answered(Reply(found=True, text=long_answer, number=NUMBER), datetime.now(UTC))
    kiosk.render()
    QApplication.processEvents()
    scroll = kiosk.stack.currentWidget()
    assert scroll.verticalScrollBar().isVisible()
    assert kiosk.size() == QSize(1024, 600)  # the window never outgrows the screen
    answer = kiosk.w["answer"]
    assert answer.height() >= answer.heightForWidth(answer.width())  # all of it, scrolled
    for name in ("print", "done"):
        button = kiosk.w[name]
        scroll.ensureWidgetVisible(button)
        QApplication.processEvents()
        viewport = in_window(kiosk, scroll.viewport())
        assert viewport.contains(in_window(kiosk, button)), name
        assert button.height() >= MIN_TOUCH_PX


# A kiosk full screen on a 1366x768 screen of Qt's offscreen platform (its screen size
# comes from a config file), in a process of its own: prints what it shows.
FULL_SCREEN_KIOSK = """
import json
from PyQt6.QtCore import QRect
from PyQt6.QtWidgets import QApplication, QPushButton
from gateway.settings import load_settings
from channels.kiosk.app import build_window

app = QApplication([])
settings = load_settings(None, var_dir=VAR_DIR, kiosk={
    "gateway_url": "http://127.0.0.1:9", "token": "gw_x", "kiosk_id": "hall-1",
    "technician_pin": "246813", "fullscreen": True, "hide_cursor": False})
window = build_window(settings)
window.intent(window.flow.start)
for _ in range(50):
    app.processEvents()
shown = [b for b in window.findChildren(QPushButton) if b.isVisible()]
print(json.dumps({
    "screen": app.primaryScreen().geometry().getRect(),
    "window": window.geometry().getRect(), "full_screen": window.isFullScreen(),
    "buttons": {b.objectName(): QRect(b.mapTo(window, b.rect().topLeft()), b.size()).getRect()
                for b in shown}}))
window.shutdown()
"""


def test_full_screen_on_a_1366x768_screen_every_key_is_on_it(qt, tmp_path):
    screens = tmp_path / "screens.json"
    screens.write_text(json.dumps({"screens": [{
        "name": "kiosk", "x": 0, "y": 0, "width": 1366, "height": 768, "logicalDpi": 96,
        "logicalBaseDpi": 96, "dpr": 1}]}))
    env = {key: value for key, value in os.environ.items() if not key.startswith("GATEWAY")}
    env["QT_QPA_PLATFORM"] = f"offscreen:configfile={screens}"
    script = FULL_SCREEN_KIOSK.replace("VAR_DIR", repr(str(tmp_path)))
    done = subprocess.run([sys.executable, "-c", script], cwd=REPO_ROOT, env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    shown = json.loads(done.stdout.strip().splitlines()[-1])
    assert shown["screen"] == [0, 0, 1366, 768]
    assert shown["full_screen"] and shown["window"] == [0, 0, 1366, 768]
    buttons = shown["buttons"]
    assert {"key-1", "key-9", "key-0", "key-next", "key-delete", "back"} <= set(buttons)
    for name, (x, y, width, height) in buttons.items():
        assert x >= 0 and y >= 0 and x + width <= 1366 and y + height <= 768, (name, x, y)
        assert width >= MIN_TOUCH_PX and height >= MIN_TOUCH_PX, name
    # A layout squeezed below what it needs puts the keys' rows over each other.
    rects = {name: QRect(*rect) for name, rect in buttons.items()}
    overlaps = [(one, other) for one in rects for other in rects
                if one < other and rects[one].intersects(rects[other])]
    assert overlaps == []
