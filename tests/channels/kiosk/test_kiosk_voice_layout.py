"""Citizen's Voice's pages fit the kiosk's screens, from 1024x600 landscape to 1080x1920
portrait, in both languages, with normal and large text: every button inside the window,
a 64 px target that overlaps nothing, no text cut (tests/channels/kiosk/
test_kiosk_layout.py's rules). With large text on a landscape screen, the confirmation
and the followed case (the citizen's text, the agency's answer) may scroll; their
buttons are all reached. The code asked for before an act is on the keypad's page."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from PyQt6.QtWidgets import QApplication, QPushButton

from channels.kiosk.layout import MIN_TOUCH_PX
from channels.kiosk.state import CaseView, Step
from tests.channels.kiosk.test_kiosk_layout import SIZE_IDS, SIZES, in_window, layout_problems
from tests.channels.kiosk.test_kiosk_voice import WAIT_MS
from tests.channels.kiosk.test_kiosk_voice import world as world  # noqa: F401  (the fixture)
from tests.core.voice.conftest import MUN

TRACKING = "7482109366"


def walk(qtbot, window, lang: str):
    flow = window.flow
    window.intent(flow.finish)
    if flow.state.lang != lang:
        window.intent(flow.switch_language)
    window.intent(flow.open_voice)
    yield "voice"
    window.intent(flow.choose_type, "complaint")
    qtbot.waitUntil(lambda: window.screen_name == "voice_agency", timeout=WAIT_MS)
    yield "agency"
    window.intent(flow.choose_agency, MUN)
    yield "category"
    window.intent(flow.choose_category, "LIGHTS")
    for key in "الإنارة مطفأة في الشارع منذ أسبوع" * 3:
        flow.type_key(key)
    window.render()
    yield "text, Arabic keyboard"
    window.intent(flow.switch_keyboard)
    yield "text, English keyboard"
    window.intent(flow.toggle_digits)
    yield "text, digits"
    window.intent(flow.next)
    for key in "0551234567":
        flow.digit(key)
    window.render()
    yield "mobile"
    window.intent(flow.next)
    yield "confirm"
    flow.send_case()  # answered here, not sent: the layout is the question
    flow.voice_answered(TRACKING, datetime.now(UTC))
    window.render()
    yield "tracking number"
    question = "أي شارع تقصد؟ اذكر اسم الحي وأقرب معلم من فضلك."
    case = CaseView(tracking=TRACKING, case_type="complaint", state="answered",
                    state_text="answered", agency="MUN", category="Street lighting",
                    question=None, answer="أُصلحت الإنارة في الشارع كله.", rating=None,
                    reopen_until="2026-12-24", may_reply=False, may_rate=True,
                    may_reopen=True, history=(Step("received"), Step("asked", question),
                                              Step("you replied"), Step("answered")))
    window.intent(flow.finish)
    window.intent(flow.open_voice)
    window.intent(flow.follow)
    for key in TRACKING:
        flow.digit(key)
    flow.next()
    for key in "0551234567":
        flow.digit(key)
    flow.next()  # the view is answered here, not asked of the gateway
    flow.voice_answered(case, datetime.now(UTC))
    window.render()
    yield "the followed case"
    flow.reopen()  # asked of the flow, not sent: the code's ticket is played here
    flow.voice_answered("ticket", datetime.now(UTC))
    for key in "123":
        flow.digit(key)
    flow.next()  # too short: the hint under the keypad is on the page too
    window.render()
    assert window.screen_name == "follow_code" and flow.state.notice == "code_length"
    yield "the code before an act"
    window.intent(flow.finish)


@pytest.mark.parametrize("large_text", [False, True], ids=["normal", "large-text"])
@pytest.mark.parametrize("size", SIZES, ids=SIZE_IDS)
def test_every_voice_page_fits_the_screen_in_both_languages(qtbot, kiosk, world, size,
                                                            large_text):
    kiosk.flow.large_text = large_text  # as a kiosk configured for large text
    kiosk.resize(*size)
    QApplication.processEvents()
    problems = []
    for lang in ("ar", "en"):
        for where in walk(qtbot, kiosk, lang):
            if large_text and size[0] > size[1] and where in LONG_PAGES:
                problems += reach_problems(kiosk, f"{lang} {where}")
            else:
                problems += layout_problems(kiosk, size, f"{lang} {where}")
    assert not problems, "\n".join(problems)


# Pages whose text (what the citizen wrote, the agency's answer) may be longer than a
# short landscape screen with large text: they scroll, and every button is reached.
LONG_PAGES = ("confirm", "the followed case")


def reach_problems(window, where: str) -> list[str]:
    QApplication.processEvents()
    scroll = window.stack.currentWidget()
    problems = []
    for button in scroll.widget().findChildren(QPushButton):
        if not button.isVisible():
            continue
        scroll.ensureWidgetVisible(button)
        QApplication.processEvents()
        viewport = in_window(window, scroll.viewport())
        if not viewport.contains(in_window(window, button)):
            problems.append(f"{where}: {button.objectName()} cannot be scrolled to")
        if button.height() < MIN_TOUCH_PX or button.width() < MIN_TOUCH_PX:
            problems.append(f"{where}: {button.objectName()} is only {button.size()}")
    return problems
