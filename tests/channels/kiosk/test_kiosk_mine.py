""""My transactions" at the kiosk by simulated taps, offscreen, against a real gateway on
a loopback port: the third home tile, the national ID and then the code (read from the
SMS the outbox carries) on the keypad, the list on screen with a case beside it; a wrong
code shows nothing, and the idle wipe takes the list."""

from __future__ import annotations

import re

import pytest
from PyQt6.QtCore import Qt
from PyQt6.QtWidgets import QPushButton

from channels.kiosk.flow import STILL_THERE_SECONDS
from tests import factories as f
from tests.conftest import last_code
from tests.core.voice.conftest import build_world

WAIT_MS = 15_000


@pytest.fixture
def applicant(core):
    core.upsert_department("RIGHTS", f.department())
    core.upsert_agency("MOI", f.agency())
    for event in (
        f.registered("4471234", occurred_at="2026-10-01T09:00:00+03:00"),
        f.event("referred", "4471234", "2026-10-02T09:00:00+03:00", department="RIGHTS"),
        f.event("issued", "4471234", "2026-10-05T09:00:00+03:00", outgoing_number="98765",
                destination_agency="MOI", reply_expected=True),
        f.registered("4471300", occurred_at="2026-11-20T09:00:00+03:00"),
        f.registered("4479999", occurred_at="2026-11-21T09:00:00+03:00",
                     national_id=f.OTHER_NATIONAL_ID, mobile=f.OTHER_MOBILE),
    ):
        core.record_event(event)
    world = build_world(core)
    return world.file(citizen={"mobile": f.MOBILE, "national_id": f.NATIONAL_ID})


def tap(qtbot, window, name: str) -> None:
    button = window.findChild(QPushButton, name)
    assert button is not None and button.isVisible(), name
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def dial(qtbot, window, digits: str) -> None:
    for digit in digits:
        qtbot.mouseClick(window.keypad.keys[digit], Qt.MouseButton.LeftButton)


def to_code(qtbot, kiosk) -> None:
    tap(qtbot, kiosk, "mine")
    assert kiosk.screen_name == "mine_id"
    dial(qtbot, kiosk, f.NATIONAL_ID)
    assert kiosk.flow.state.mine_id == f.NATIONAL_ID
    assert not re.search(r"[0-9٠-٩]", kiosk.w["value"].text())  # one dot per digit
    tap(qtbot, kiosk, "key-next")
    qtbot.waitUntil(lambda: kiosk.screen_name == "mine_code", timeout=WAIT_MS)


def test_my_transactions_at_the_kiosk(qtbot, kiosk, core, applicant):
    home = kiosk.w["mine"]
    assert home.text() == "معاملاتي" and home.y() == kiosk.w["start"].y()
    to_code(qtbot, kiosk)
    assert "إن كانت لهذه الهوية معاملات" in kiosk.w["prompt"].text()

    # A wrong code shows nothing.
    right = last_code(core)
    dial(qtbot, kiosk, f"{(int(right) + 1) % 1_000_000:06d}")
    tap(qtbot, kiosk, "key-next")
    qtbot.waitUntil(lambda: kiosk.flow.state.notice == "wrong_code", timeout=WAIT_MS)
    assert kiosk.screen_name == "mine_code"
    assert "الرمز غير صحيح" in kiosk.w["notice"].text()

    dial(qtbot, kiosk, right)
    tap(qtbot, kiosk, "key-next")
    qtbot.waitUntil(lambda: kiosk.screen_name == "mine_list", timeout=WAIT_MS)
    body = kiosk.w["mine_body"].text()
    assert body.index("٤٤٧١٣٠٠") < body.index("٤٤٧١٢٣٤")  # newest first, Arabic digits
    assert "٩٨٧٦٥" in body and "وزارة الداخلية" in body and "إدارة الحقوق" in body
    assert "هـ" in body  # Hijri with Gregorian
    assert "٤٤٧٩٩٩٩" not in body
    assert "مستلم" in kiosk.w["mine_cases"].text()
    assert kiosk.w["mine_body"].isVisible()

    # Idle: "still there?", then the wipe takes it all.
    for _ in range(kiosk.flow.idle_seconds + STILL_THERE_SECONDS):
        kiosk.tick()
    assert kiosk.screen_name == "home"
    assert kiosk.flow.state.mine is None
    assert "٤٤٧١٢٣٤" not in kiosk.w["mine_body"].text()


def test_in_english(qtbot, kiosk, core, applicant):
    tap(qtbot, kiosk, "language")
    to_code(qtbot, kiosk)
    dial(qtbot, kiosk, last_code(core))
    tap(qtbot, kiosk, "key-next")
    qtbot.waitUntil(lambda: kiosk.screen_name == "mine_list", timeout=WAIT_MS)
    body = kiosk.w["mine_body"].text()
    assert "Ministry of Interior" in body and "AH" in body
    tap(qtbot, kiosk, "mine_done")
    assert kiosk.screen_name == "home" and kiosk.flow.state.mine is None
