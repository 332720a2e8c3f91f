"""Citizen's Voice at the kiosk by simulated taps, offscreen, against a real gateway on a
loopback port: the home's tiles, our own keyboard (Arabic as on a Saudi phone, English,
digits, delete), filing with the tracking number on screen and on the receipt, and the
whole life of the case (asked, replied, answered, rated, reopened), each act only after
the code the gateway sends to the case's mobile; a stranger's tracking number shows
nothing."""

from __future__ import annotations

import re

import pytest
from PyQt6.QtCore import Qt
from PyQt6.QtWidgets import QApplication, QPushButton
from sqlalchemy import select

from channels.kiosk.flow import STILL_THERE_SECONDS
from channels.kiosk.keyboard import ARABIC_ROWS, ENGLISH_ROWS
from channels.kiosk.mine_texts import mine_texts
from channels.kiosk.texts import shown_digits
from channels.kiosk.voice_captions import tracking_shown
from channels.kiosk.voice_texts import voice_texts
from core.messaging.models import Notification
from core.voice.models import CaseEvent, VoiceCase
from tests.channels.kiosk.conftest import pdf_text
from tests.core.voice.conftest import MUN, build_world

WAIT_MS = 15_000
MOBILE = "0551234567"
STRANGER = "0559876543"


@pytest.fixture
def world(core):
    world = build_world(core)
    core.voice.upsert_category("LIGHTS", {"agency": MUN, "name_ar": "إنارة الشوارع",
                                          "name_en": "Street lighting",
                                          "types": ["complaint", "suggestion"]})
    return world


def tap(qtbot, window, name: str) -> None:
    button = window.findChild(QPushButton, name)
    assert button is not None and button.isVisible(), name
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def keys(qtbot, window, text: str) -> None:
    """Type ``text`` on the kiosk's keyboard, key by key (a space on the space bar)."""
    keyboard = window.page_stack.voice.keyboard
    for char in text:
        key = keyboard.space if char == " " else keyboard.keys[char]
        qtbot.mouseClick(key, Qt.MouseButton.LeftButton)


def dial(qtbot, window, digits: str) -> None:
    for digit in digits:
        qtbot.mouseClick(window.keypad.keys[digit], Qt.MouseButton.LeftButton)


def shown(window, name: str) -> str:
    return window.w[name].text()


def wait_for(qtbot, window, screen: str) -> None:
    qtbot.waitUntil(lambda: window.screen_name == screen, timeout=WAIT_MS)


def file_at_kiosk(qtbot, kiosk, text: str, mobile: str = MOBILE) -> str:
    tap(qtbot, kiosk, "voice")
    tap(qtbot, kiosk, "file_complaint")
    wait_for(qtbot, kiosk, "voice_agency")
    tap(qtbot, kiosk, "agency-MUN")
    tap(qtbot, kiosk, "category-LIGHTS")
    assert kiosk.screen_name == "voice_text"
    keys(qtbot, kiosk, text)
    tap(qtbot, kiosk, "text_next")
    dial(qtbot, kiosk, mobile)
    tap(qtbot, kiosk, "key-next")
    assert kiosk.screen_name == "voice_confirm"
    tap(qtbot, kiosk, "send")
    wait_for(qtbot, kiosk, "voice_filed")
    return kiosk.flow.state.tracking


def follow_at_kiosk(qtbot, kiosk, tracking: str, mobile: str = MOBILE) -> None:
    tap(qtbot, kiosk, "voice")
    tap(qtbot, kiosk, "follow_case")
    dial(qtbot, kiosk, tracking)
    tap(qtbot, kiosk, "key-next")
    dial(qtbot, kiosk, mobile)
    tap(qtbot, kiosk, "key-next")
    qtbot.waitUntil(lambda: kiosk.screen_name in ("follow_case", "follow_tracking"),
                    timeout=WAIT_MS)


def test_the_home_has_two_large_tiles_side_by_side(qtbot, kiosk):
    start, voice = kiosk.w["start"], kiosk.w["voice"]
    assert voice.text() == "صوت المواطن" and start.text() == "حالة المعاملة"
    assert start.height() > 3 * kiosk.w["large_text"].height()  # tiles, not a button row
    assert start.y() == voice.y()
    assert start.x() > voice.x()  # Arabic: the first service on the right
    assert shown(kiosk, "emirate") == "إمارة المنطقة"
    tap(qtbot, kiosk, "language")
    assert kiosk.w["voice"].text() == "Citizen's Voice"
    QApplication.processEvents()
    assert kiosk.w["start"].x() < kiosk.w["voice"].x()


def test_the_keyboard_types_arabic_and_english_deletes_and_switches(qtbot, kiosk, world):
    tap(qtbot, kiosk, "voice")
    tap(qtbot, kiosk, "file_suggestion")
    wait_for(qtbot, kiosk, "voice_agency")
    tap(qtbot, kiosk, "agency-none")
    keyboard = kiosk.page_stack.voice.keyboard
    # The rows of the Arabic phone keyboard, ض at the top right.
    assert set(keyboard.keys) == set("".join(ARABIC_ROWS))
    dad, jim = keyboard.keys["ض"], keyboard.keys["ج"]
    assert dad.mapTo(kiosk, dad.rect().center()).x() > jim.mapTo(kiosk, jim.rect().center()).x()
    keys(qtbot, kiosk, "مدرسة ")
    tap(qtbot, kiosk, "kb-delete")
    tap(qtbot, kiosk, "kb-delete")
    assert kiosk.flow.state.draft.text == "مدرس"
    assert shown(kiosk, "typed").startswith("مدرس")
    tap(qtbot, kiosk, "kb-language")
    assert set(keyboard.keys) == set("".join(ENGLISH_ROWS))
    q, p = keyboard.keys["q"], keyboard.keys["p"]
    assert q.mapTo(kiosk, q.rect().center()).x() < p.mapTo(kiosk, p.rect().center()).x()
    keys(qtbot, kiosk, " school")
    tap(qtbot, kiosk, "kb-shift")
    keys(qtbot, kiosk, "a")
    tap(qtbot, kiosk, "kb-digits")
    keys(qtbot, kiosk, "12")
    tap(qtbot, kiosk, "kb-language")  # the Arabic digits' page
    keys(qtbot, kiosk, "٣")
    assert kiosk.flow.state.draft.text == "مدرس schoolA12٣"
    assert shown(kiosk, "text_notice") == voice_texts("ar")["characters"].format(
        count=shown_digits("15", "ar"), limit=shown_digits("1000", "ar"))


def test_empty_text_and_a_bad_mobile_are_told_in_the_kiosks_language(qtbot, kiosk, world):
    tap(qtbot, kiosk, "language")
    tap(qtbot, kiosk, "voice")
    tap(qtbot, kiosk, "file_complaint")
    wait_for(qtbot, kiosk, "voice_agency")
    tap(qtbot, kiosk, "agency-MUN")
    tap(qtbot, kiosk, "category-none")
    tap(qtbot, kiosk, "text_next")
    assert shown(kiosk, "text_notice") == voice_texts("en")["text_empty"]
    keys(qtbot, kiosk, "lights out")
    tap(qtbot, kiosk, "text_next")
    dial(qtbot, kiosk, "0112345678")
    tap(qtbot, kiosk, "key-next")
    assert kiosk.screen_name == "voice_mobile"
    assert shown(kiosk, "notice") == voice_texts("en")["mobile_invalid"]


def sms_code(world, mobile: str = "+966551234567") -> str:
    with world.core.db.read() as session:
        body = session.scalar(select(Notification.body).where(
            Notification.kind == "code", Notification.recipient == mobile)
            .order_by(Notification.id.desc()).limit(1))
    match = re.search(r"\d{6}", body or "")
    assert match, "a code was sent to the case's mobile"
    return match.group(0)


def type_sms_code(qtbot, kiosk, world) -> None:
    """The act waits for the code sent to the case's mobile: typed on the keypad."""
    wait_for(qtbot, kiosk, "follow_code")
    assert shown(kiosk, "prompt") == shown_digits(voice_texts("ar")["follow_code_prompt"],
                                                  "ar")
    dial(qtbot, kiosk, sms_code(world))
    tap(qtbot, kiosk, "key-next")


def test_file_at_the_kiosk_then_follow_the_whole_life_of_the_case(qtbot, kiosk, world):
    tracking = file_at_kiosk(qtbot, kiosk, "الإنارة مطفأة")
    assert shown(kiosk, "tracking_number") == tracking_shown(tracking, "ar")
    assert shown_digits(tracking[1:5], "ar") in shown(kiosk, "tracking_number")
    with world.core.db.read() as session:
        case = session.scalars(select(VoiceCase).where(VoiceCase.tracking == tracking)).one()
        assert (case.channel, case.citizen_mobile, case.text) == (
            "kiosk", "+966551234567", "الإنارة مطفأة")
        assert case.source_key.startswith("api:hall-1:")
    tap(qtbot, kiosk, "filed_done")
    assert kiosk.flow.state.tracking == ""

    # Staff ask for more; the citizen replies at the kiosk.
    spec, coord = world.specialist(MUN), world.coordinator(MUN)
    world.act(coord, tracking, "assign", user=spec.login)
    world.act(spec, tracking, "start")
    world.act(spec, tracking, "request_info", text="أي شارع؟")
    follow_at_kiosk(qtbot, kiosk, tracking)
    assert kiosk.screen_name == "follow_case"
    assert "أي شارع؟" in shown(kiosk, "case_question")
    tap(qtbot, kiosk, "case_reply")
    keys(qtbot, kiosk, "شارع الملك فهد")
    tap(qtbot, kiosk, "text_next")
    type_sms_code(qtbot, kiosk, world)
    qtbot.waitUntil(lambda: kiosk.flow.state.notice == "done_citizen_reply",
                    timeout=WAIT_MS)
    assert kiosk.flow.state.case.state == "in_progress"
    tap(qtbot, kiosk, "case_done")

    # Staff answer; the citizen sees it, rates it, reopens.
    world.act(spec, tracking, "answer", text="أُصلحت الإنارة")
    world.act(coord, tracking, "approve")
    follow_at_kiosk(qtbot, kiosk, tracking)
    assert "أُصلحت الإنارة" in shown(kiosk, "case_answer")
    assert kiosk.page_stack.voice.ratings.isVisible()
    tap(qtbot, kiosk, "rate-4")
    type_sms_code(qtbot, kiosk, world)
    qtbot.waitUntil(lambda: kiosk.flow.state.notice == "done_rate", timeout=WAIT_MS)
    assert kiosk.flow.state.case.rating == 4
    tap(qtbot, kiosk, "case_reopen")  # the same visit: the code's proof still holds
    qtbot.waitUntil(lambda: kiosk.flow.state.notice == "done_reopen", timeout=WAIT_MS)
    assert kiosk.flow.state.case.state not in ("answered", "closed")
    assert world.voice.case(world.users["leadership"], tracking).rating == 4
    tap(qtbot, kiosk, "case_done")

    # A stranger with the tracking number learns nothing.
    follow_at_kiosk(qtbot, kiosk, tracking, STRANGER)
    assert kiosk.screen_name == "follow_tracking"
    assert shown(kiosk, "notice") == voice_texts("ar")["case_not_found"]
    assert kiosk.flow.state.case is None
    texts_shown = " ".join(label.text() for label in kiosk.findChildren(type(kiosk.w["typed"]))
                           if label.isVisible())
    assert "أصلحت" not in texts_shown and "شارع" not in texts_shown


def test_the_english_receipt_carries_the_tracking_number(qtbot, kiosk, world):
    tap(qtbot, kiosk, "language")
    tracking = file_at_kiosk(qtbot, kiosk, "lights out")
    tap(qtbot, kiosk, "filed_print")
    qtbot.waitUntil(lambda: kiosk.flow.state.printed, timeout=WAIT_MS)
    [pdf] = kiosk.printer.pdf_dir.glob("receipt-hall-1-*.pdf")
    assert tracking not in pdf.name
    text = pdf_text(pdf)
    assert tracking in text and voice_texts("en")["case_receipt_title"] in text
    assert MOBILE not in text and "lights out" not in text
    tap(qtbot, kiosk, "receipt_done")
    QApplication.processEvents()
    assert not pdf.exists()


def test_idle_wipes_what_was_typed_at_the_keyboard(qtbot, kiosk, world):
    tap(qtbot, kiosk, "voice")
    tap(qtbot, kiosk, "file_complaint")
    wait_for(qtbot, kiosk, "voice_agency")
    tap(qtbot, kiosk, "agency-MUN")
    tap(qtbot, kiosk, "category-LIGHTS")
    keys(qtbot, kiosk, "سري")
    tap(qtbot, kiosk, "kb-language")
    for _ in range(kiosk.flow.idle_seconds + STILL_THERE_SECONDS):
        kiosk.tick()
    assert kiosk.screen_name == "home"
    state = kiosk.flow.state
    assert (state.draft.text, state.keyboard, state.mobile) == ("", "", "")
    assert "سري" not in shown(kiosk, "typed")


def test_a_retried_filing_after_the_gateway_vanished_files_once(qtbot, kiosk, world, gateway):
    tap(qtbot, kiosk, "voice")
    tap(qtbot, kiosk, "file_complaint")
    wait_for(qtbot, kiosk, "voice_agency")
    tap(qtbot, kiosk, "agency-none")
    keys(qtbot, kiosk, "مرة واحدة")
    tap(qtbot, kiosk, "text_next")
    dial(qtbot, kiosk, MOBILE)
    tap(qtbot, kiosk, "key-next")
    gateway.stop()
    tap(qtbot, kiosk, "send")
    qtbot.waitUntil(lambda: kiosk.flow.state.notice == "not_sent", timeout=WAIT_MS)
    assert kiosk.screen_name == "voice_confirm"
    key = kiosk.flow.state.draft.key
    gateway.start()
    tap(qtbot, kiosk, "send")
    wait_for(qtbot, kiosk, "voice_filed")
    with world.core.db.read() as session:
        keys_filed = session.scalars(select(VoiceCase.source_key)).all()
    assert keys_filed == [f"api:hall-1:{key}"]


def test_a_wrong_code_is_told_and_nothing_is_done(qtbot, kiosk, world):
    tracking = world.walk("complaint", "awaiting_citizen")
    follow_at_kiosk(qtbot, kiosk, tracking)
    tap(qtbot, kiosk, "case_reply")
    keys(qtbot, kiosk, "نعم")
    tap(qtbot, kiosk, "text_next")
    wait_for(qtbot, kiosk, "follow_code")
    right = sms_code(world)
    dial(qtbot, kiosk, "000000" if right != "000000" else "111111")
    tap(qtbot, kiosk, "key-next")
    qtbot.waitUntil(lambda: kiosk.flow.state.notice == "wrong_code", timeout=WAIT_MS)
    assert kiosk.screen_name == "follow_code"
    assert shown(kiosk, "notice") == mine_texts("ar")["wrong_code"]
    with world.core.db.read() as session:
        assert session.scalar(select(CaseEvent.id).where(
            CaseEvent.action == "citizen_reply")) is None
    dial(qtbot, kiosk, right)
    tap(qtbot, kiosk, "key-next")
    qtbot.waitUntil(lambda: kiosk.flow.state.notice == "done_citizen_reply",
                    timeout=WAIT_MS)
