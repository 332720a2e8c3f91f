"""Citizen's Voice at the kiosk as plain Python (channels/kiosk/voice.py): the steps of
filing and following a case, bad input told on screen, one Idempotency-Key per attempt
kept for a retry, and everything typed gone at the idle wipe."""

from __future__ import annotations

from datetime import UTC, datetime

from channels.kiosk.effects import (
    ActOnCase,
    AskCaseCode,
    FileCase,
    LoadCatalogue,
    PrintCaseReceipt,
    ViewCase,
)
from channels.kiosk.flow import STILL_THERE_SECONDS, Flow
from channels.kiosk.state import (
    Acted,
    Agency,
    CaseView,
    Catalogue,
    Category,
    Refusal,
    Screen,
)
from channels.kiosk.voice import TEXT_MAX

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
ROADS = Category("ROADS", "الطرق", "Roads", ("complaint", "suggestion"))
CATALOGUE = Catalogue((Agency("AMANA", "الأمانة", "Municipality", (ROADS,)),
                       Agency("POLICE", "الشرطة", "Police", ()),
                       Agency("EMIRATE", "الإمارة", "Emirate", ())), "EMIRATE")
TRACKING = "7482109366"
ASKED = CaseView(tracking=TRACKING, case_type="complaint", state="awaiting_citizen",
                 state_text="waiting for your reply", agency="Municipality",
                 category="Roads", question="Which school?", answer=None, rating=None,
                 reopen_until=None, may_reply=True, may_rate=False, may_reopen=False)
ANSWERED = CaseView(tracking=TRACKING, case_type="complaint", state="answered",
                    state_text="answered", agency="Municipality", category="Roads",
                    question=None, answer="Fixed.", rating=None,
                    reopen_until="2026-12-10", may_reply=False, may_rate=True,
                    may_reopen=True)


def type_text(flow: Flow, text: str) -> None:
    for key in text:
        flow.type_key(key)


def at_text(flow: Flow, case_type: str = "complaint") -> None:
    flow.open_voice()
    assert flow.choose_type(case_type) == [LoadCatalogue()]
    assert flow.state.screen is Screen.WAITING
    flow.voice_answered(CATALOGUE, NOW)
    assert flow.state.screen is Screen.VOICE_AGENCY
    flow.choose_agency("AMANA")
    assert flow.state.screen is Screen.VOICE_CATEGORY
    flow.choose_category("ROADS")
    assert flow.state.screen is Screen.VOICE_TEXT


def at_confirm(flow: Flow) -> None:
    at_text(flow)
    type_text(flow, "حفرة كبيرة")
    flow.next()
    for key in "٠٥٥١٢٣٤٥٦٧":  # Arabic-Indic digits are taken as typed
        flow.digit(key)
    flow.next()
    assert flow.state.screen is Screen.VOICE_CONFIRM


def test_filing_goes_type_agency_category_text_mobile_confirm_tracking_number():
    flow = Flow()
    at_confirm(flow)
    assert flow.state.mobile == "0551234567"
    [effect] = flow.send_case()
    assert isinstance(effect, FileCase)
    assert (effect.case_type, effect.agency, effect.category, effect.text, effect.mobile,
            effect.lang) == ("complaint", "AMANA", "ROADS", "حفرة كبيرة", "0551234567", "ar")
    assert effect.key
    flow.voice_answered(TRACKING, NOW)
    assert flow.state.screen is Screen.VOICE_FILED
    assert flow.state.tracking == TRACKING
    # What was typed leaves memory once the case is filed.
    assert (flow.state.draft.text, flow.state.mobile) == ("", "")
    [receipt] = flow.print_case_receipt()
    assert receipt == PrintCaseReceipt(TRACKING, "complaint", "الأمانة", "ar", flow.session)


def test_an_agency_without_categories_and_not_sure_go_straight_to_the_text():
    flow = Flow()
    flow.open_voice()
    flow.choose_type("suggestion")
    flow.voice_answered(CATALOGUE, NOW)
    flow.choose_agency("")  # not sure: the emirate routes it
    assert flow.state.screen is Screen.VOICE_TEXT and flow.state.draft.agency == ""
    flow.back()
    flow.choose_agency("POLICE")
    assert flow.state.screen is Screen.VOICE_TEXT
    assert flow.choose_agency("NOPE") == []


def test_a_retry_after_no_answer_keeps_the_key_and_a_change_draws_a_new_one():
    flow = Flow()
    at_confirm(flow)
    [first] = flow.send_case()
    flow.voice_unreachable()
    assert flow.state.screen is Screen.VOICE_CONFIRM
    assert flow.state.notice == "not_sent"
    [retry] = flow.send_case()
    assert retry.key == first.key
    flow.voice_unreachable()
    flow.back()  # to the mobile: a change of it is a new attempt
    flow.backspace()
    flow.digit("7")
    flow.next()
    [changed] = flow.send_case()
    assert changed.key != first.key


def test_bad_input_gets_a_hint_and_stays():
    flow = Flow()
    at_text(flow)
    type_text(flow, "   ")
    flow.next()
    assert (flow.state.screen, flow.state.notice) == (Screen.VOICE_TEXT, "text_empty")
    type_text(flow, "x" * (TEXT_MAX + 5))
    assert len(flow.state.draft.text) == TEXT_MAX
    assert flow.state.notice == "text_too_long"
    flow.delete_key()
    assert len(flow.state.draft.text) == TEXT_MAX - 1 and flow.state.notice == ""
    flow.next()
    for key in "0112345678":  # a landline
        flow.digit(key)
    flow.next()
    assert (flow.state.screen, flow.state.notice) == (Screen.VOICE_MOBILE, "mobile_invalid")


def test_the_gateways_refusals_are_told_where_they_belong():
    flow = Flow()
    at_confirm(flow)
    flow.send_case()
    flow.voice_answered(Refusal("too_many_cases"), NOW)
    assert (flow.state.screen, flow.state.notice) == (Screen.VOICE_CONFIRM, "too_many_cases")
    flow.send_case()
    flow.voice_answered(Refusal("invalid_field"), NOW)
    assert (flow.state.screen, flow.state.notice) == (Screen.VOICE_CONFIRM, "not_accepted")


def test_keyboard_switch_and_digits_are_state_and_reset_by_the_wipe():
    flow = Flow()
    at_text(flow)
    assert (flow.state.keyboard, flow.state.keyboard_digits) == ("", False)
    flow.switch_keyboard()
    assert flow.state.keyboard == "en"
    flow.toggle_digits()
    assert flow.state.keyboard_digits
    flow.switch_keyboard()
    assert flow.state.keyboard == "ar"
    type_text(flow, "  ")
    assert flow.state.draft.text == ""  # no leading spaces
    flow.wipe()
    assert (flow.state.keyboard, flow.state.keyboard_digits) == ("", False)


def at_case(flow: Flow, view: CaseView = ASKED) -> None:
    flow.open_voice()
    flow.follow()
    for key in TRACKING:
        flow.digit(key)
    flow.next()
    for key in "0551234567":
        flow.digit(key)
    flow.next()
    flow.voice_answered(view, NOW)
    assert flow.state.screen is Screen.FOLLOW_CASE


def type_code(flow: Flow, code: str = "123456") -> list:
    assert flow.state.screen is Screen.FOLLOW_CODE
    for key in code:
        flow.digit(key)
    return flow.next()


def test_following_a_case_reply_rate_reopen():
    flow = Flow()
    flow.open_voice()
    flow.follow()
    for key in "7482109365":  # a wrong check digit
        flow.digit(key)
    flow.next()
    assert flow.state.notice == "tracking_invalid"
    flow.backspace()
    flow.digit("6")
    flow.next()
    assert flow.state.screen is Screen.FOLLOW_MOBILE
    for key in "0551234567":
        flow.digit(key)
    assert flow.next() == [ViewCase(TRACKING, "0551234567", "ar")]
    flow.voice_answered(ASKED, NOW)
    assert flow.state.screen is Screen.FOLLOW_CASE
    flow.start_reply()
    assert flow.state.screen is Screen.FOLLOW_REPLY
    type_text(flow, "مدرسة الفيصلية")
    # The pair read the case; the reply waits for the code sent to the case's mobile.
    assert flow.next() == [AskCaseCode(TRACKING, "0551234567", "ar")]
    flow.voice_answered("ticket-1", NOW)
    [reply] = type_code(flow, "١٢٣٤٥٦")
    assert isinstance(reply, ActOnCase)
    assert (reply.action, reply.text, reply.ticket, reply.code, reply.proof) == (
        "citizen_reply", "مدرسة الفيصلية", "ticket-1", "123456", "")
    flow.voice_unreachable()
    assert (flow.state.screen, flow.state.notice) == (Screen.FOLLOW_CODE, "not_sent")
    [again] = flow.next()
    assert (again.key, again.code) == (reply.key, "123456")  # the same reply, once
    flow.voice_answered(Acted(ANSWERED, "proof-1"), NOW)
    assert (flow.state.screen, flow.state.notice) == (Screen.FOLLOW_CASE,
                                                      "done_citizen_reply")
    assert (flow.state.case_code, flow.state.case_ticket) == ("", "")
    assert flow.rate(6) == []
    # The proof serves the rest of the visit: no second code.
    [rated] = flow.rate(4)
    assert (rated.action, rated.rating, rated.proof) == ("rate", 4, "proof-1")
    assert rated.key != reply.key
    flow.voice_answered(Refusal("already_rated"), NOW)
    assert flow.state.notice == "wrong_state"
    [reopened] = flow.reopen()
    assert (reopened.action, reopened.proof) == ("reopen", "proof-1")


def test_a_wrong_code_is_typed_again_an_ended_one_asks_anew():
    flow = Flow()
    at_case(flow, ANSWERED)
    assert flow.reopen() == [AskCaseCode(TRACKING, "0551234567", "ar")]
    flow.voice_answered("ticket-1", NOW)
    for key in "123":
        flow.digit(key)
    assert flow.next() == [] and flow.state.notice == "code_length"
    [first] = type_code(flow, "456")
    flow.voice_answered(Refusal("wrong_code"), NOW)
    assert (flow.state.screen, flow.state.notice, flow.state.case_code) == (
        Screen.FOLLOW_CODE, "wrong_code", "")
    [second] = type_code(flow, "654321")
    assert second.key == first.key
    flow.voice_answered(Refusal("code_expired"), NOW)
    assert (flow.state.screen, flow.state.notice) == (Screen.FOLLOW_CASE, "code_expired")
    assert (flow.state.case_ticket, flow.state.case_proof) == ("", "")
    assert flow.reopen() == [AskCaseCode(TRACKING, "0551234567", "ar")]
    flow.voice_answered(Refusal("code_cooldown"), NOW)
    assert (flow.state.screen, flow.state.notice) == (Screen.FOLLOW_CASE, "code_cooldown")


def test_a_pair_that_no_longer_matches_sends_no_code_and_back_drops_the_act():
    flow = Flow()
    at_case(flow, ANSWERED)
    flow.rate(5)
    flow.voice_answered("ticket-1", NOW)
    flow.digit("1")
    flow.back()
    assert flow.state.screen is Screen.FOLLOW_CASE
    assert (flow.state.case_code, flow.state.case_ticket) == ("", "")
    flow.rate(5)
    flow.voice_answered(Refusal("unknown_case"), NOW)
    assert (flow.state.screen, flow.state.notice) == (Screen.FOLLOW_TRACKING,
                                                      "case_not_found")


def test_the_idle_wipe_takes_the_code_ticket_and_proof():
    flow = Flow(idle_seconds=10)
    at_case(flow, ANSWERED)
    flow.rate(3)
    flow.voice_answered("ticket-1", NOW)
    for key in "123":
        flow.digit(key)
    for _ in range(10 + STILL_THERE_SECONDS):
        flow.tick()
    s = flow.state
    assert s.screen is Screen.HOME
    assert (s.case_code, s.case_ticket, s.case_proof, s.act_sig) == ("", "", "", "")


def test_a_stranger_is_told_not_found_and_nothing_of_the_case():
    flow = Flow()
    flow.open_voice()
    flow.follow()
    for key in TRACKING:
        flow.digit(key)
    flow.next()
    for key in "0559876543":
        flow.digit(key)
    flow.next()
    flow.voice_answered(Refusal("unknown_case"), NOW)
    assert (flow.state.screen, flow.state.notice) == (Screen.FOLLOW_TRACKING,
                                                      "case_not_found")
    assert flow.state.case is None and flow.state.mobile == ""


def test_the_idle_wipe_takes_everything_typed():
    flow = Flow(idle_seconds=10)
    at_confirm(flow)
    for _ in range(10):
        flow.tick()
    assert flow.state.screen is Screen.STILL_THERE
    for _ in range(STILL_THERE_SECONDS):
        flow.tick()
    s = flow.state
    assert s.screen is Screen.HOME
    assert (s.draft.text, s.mobile, s.tracking, s.case, s.reply_text) == ("", "", "", None, "")


def test_an_answer_after_the_wipe_is_shown_to_nobody():
    flow = Flow()
    at_confirm(flow)
    flow.send_case()
    flow.wipe()
    flow.voice_answered(TRACKING, NOW)
    assert flow.state.screen is Screen.HOME and flow.state.tracking == ""


def test_a_failed_heartbeat_does_not_take_the_citizen_off_a_waiting_filing():
    flow = Flow()
    at_confirm(flow)
    flow.send_case()
    flow.unreachable()
    assert flow.state.screen is Screen.WAITING
    flow.voice_answered(TRACKING, NOW)
    assert flow.state.screen is Screen.VOICE_FILED
