"""The kiosk's screen flow, without Qt or a network: intents in, screens and effects out."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from channels.kiosk.effects import PrintReceipt, ProbeGateway, Quit, SendInquiry
from channels.kiosk.flow import (
    PIN_ATTEMPTS,
    PIN_LOCK_SECONDS,
    STILL_THERE_SECONDS,
    Flow,
    backoff,
)
from channels.kiosk.state import Reply, Screen

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
FOUND = Reply(found=True, text="Registered", number="4471234", status_text="Registered")


def typed(flow: Flow, digits: str) -> None:
    for key in digits:
        flow.digit(key)


def at_id(flow: Flow, number: str = "4471234") -> None:
    flow.start()
    typed(flow, number)
    flow.next()


def test_the_whole_way_home_number_id_result_receipt_home():
    flow = Flow()
    assert flow.state.screen is Screen.HOME
    at_id(flow)
    assert flow.state.screen is Screen.NATIONAL_ID
    typed(flow, "1234567897")
    assert flow.next() == [SendInquiry("4471234", "1234567897", "ar")]
    assert flow.state.screen is Screen.WAITING

    flow.answered(FOUND, NOW)
    assert flow.state.screen is Screen.RESULT
    assert flow.state.national_id == ""  # gone from memory once answered
    assert flow.print_receipt() == [PrintReceipt(FOUND, "ar", flow.session)]
    flow.printed(flow.session)
    assert flow.state.screen is Screen.RECEIPT and flow.state.printed
    flow.finish()
    assert flow.state.screen is Screen.HOME
    assert (flow.state.number, flow.state.reply) == ("", None)


def test_arabic_indic_digits_on_the_keypad_are_kept_as_ascii():
    flow = Flow()
    flow.start()
    typed(flow, "٤٤٧١")
    assert flow.state.number == "4471"


@pytest.mark.parametrize(("screen_digits", "notice"), [("12", "number_too_short")])
def test_a_short_number_stays_on_its_screen_with_a_hint(screen_digits, notice):
    flow = Flow()
    flow.start()
    typed(flow, screen_digits)
    assert flow.next() == []
    assert (flow.state.screen, flow.state.notice) == (Screen.NUMBER, notice)


def test_the_national_id_takes_ten_digits_and_no_more():
    flow = Flow()
    at_id(flow)
    typed(flow, "123456789")
    assert flow.next() == [] and flow.state.notice == "id_length"
    typed(flow, "78")
    assert flow.state.national_id == "1234567897"


def test_back_from_the_id_clears_it_and_keeps_the_number():
    flow = Flow()
    at_id(flow)
    typed(flow, "12")
    flow.back()
    assert (flow.state.screen, flow.state.number, flow.state.national_id) == \
        (Screen.NUMBER, "4471234", "")


def test_not_found_offers_another_try_but_no_receipt():
    flow = Flow()
    at_id(flow)
    typed(flow, "1234567897")
    flow.next()
    flow.answered(Reply(found=False, text="No transaction"), NOW)
    assert flow.print_receipt() == []
    assert flow.state.screen is Screen.RESULT


def test_idle_asks_whether_anyone_is_there_then_wipes_everything():
    flow = Flow(idle_seconds=30)
    at_id(flow)
    typed(flow, "12345")
    flow.switch_language()
    flow.toggle_large_text()
    for _ in range(30):
        flow.tick()
    assert flow.state.screen is Screen.STILL_THERE
    for _ in range(STILL_THERE_SECONDS):
        flow.tick()
    state = flow.state
    assert state.screen is Screen.HOME
    assert (state.number, state.national_id, state.reply, state.lang, state.large_text) == \
        ("", "", None, "ar", False)


def test_a_touch_restarts_the_idle_count_and_still_here_resumes():
    flow = Flow(idle_seconds=30)
    at_id(flow)
    for _ in range(29):
        flow.tick()
    flow.touch()
    for _ in range(29):
        flow.tick()
    assert flow.state.screen is Screen.NATIONAL_ID
    flow.tick()
    assert flow.state.screen is Screen.STILL_THERE
    flow.still_here()
    assert flow.state.screen is Screen.NATIONAL_ID and flow.state.number == "4471234"


def test_an_answer_arriving_after_the_wipe_is_dropped():
    flow = Flow()
    at_id(flow)
    typed(flow, "1234567897")
    flow.next()
    flow.wipe()
    flow.answered(FOUND, NOW)
    assert flow.state.screen is Screen.HOME and flow.state.reply is None


def test_home_is_never_wiped_by_idle():
    flow = Flow(idle_seconds=5)
    for _ in range(50):
        flow.tick()
    assert flow.state.screen is Screen.HOME


def test_unreachable_gateway_backs_off_and_wipes_the_held_inquiry_when_back():
    flow = Flow()
    at_id(flow)
    typed(flow, "1234567897")
    flow.next()
    flow.unreachable()
    assert flow.state.screen is Screen.OFFLINE and flow.state.retry_in == backoff(0)
    effects = []
    for _ in range(backoff(0)):
        effects += flow.tick()
    assert effects == [ProbeGateway()]
    flow.unreachable()
    assert flow.state.retry_in == backoff(1) > backoff(0)
    # Never sent on its own: whoever stands there now may not be who typed it.
    assert flow.reached(NOW) == []
    state = flow.state
    assert (state.screen, state.number, state.national_id) == (Screen.HOME, "", "")
    assert state.last_reached == NOW and not state.offline


def test_a_held_inquiry_can_be_cancelled_and_touches_do_not_keep_it():
    flow = Flow(idle_seconds=30)
    at_id(flow)
    typed(flow, "1234567897")
    flow.next()
    flow.unreachable()
    for _ in range(29):
        flow.touch()
        flow.tick()
    assert flow.state.national_id == "1234567897"
    flow.touch()
    flow.tick()
    assert (flow.state.screen, flow.state.number, flow.state.national_id) == \
        (Screen.OFFLINE, "", "")
    at_id(flow)
    typed(flow, "1234567897")
    flow.next()
    flow.finish()  # the offline screen's Home button
    assert (flow.state.number, flow.state.national_id) == ("", "")


def test_backoff_grows_then_stays_at_a_minute():
    assert [backoff(n) for n in range(7)] == [5, 10, 20, 40, 60, 60, 60]


def test_a_failed_heartbeat_does_not_interrupt_typing():
    flow = Flow()
    at_id(flow)
    flow.unreachable()
    assert flow.state.screen is Screen.NATIONAL_ID and flow.state.offline


def test_offline_with_nothing_pending_returns_home_when_reached():
    flow = Flow()
    flow.unreachable()
    assert flow.retry_now() == [ProbeGateway()]
    assert flow.reached(NOW) == [] and flow.state.screen is Screen.HOME


def test_a_refused_token_shows_out_of_service():
    flow = Flow()
    flow.refused("unauthorized")
    assert flow.state.screen is Screen.ERROR


def test_a_revoked_token_stays_out_of_service_until_a_heartbeat_succeeds():
    flow = Flow(idle_seconds=5)
    flow.refused("unauthorized", sticky=True)
    for _ in range(5 + STILL_THERE_SECONDS + 5):
        flow.tick()
    flow.finish()
    assert flow.start() == []
    typed(flow, "4471234")
    assert flow.state.screen is Screen.ERROR and flow.state.number == ""
    flow.reached(NOW)
    assert flow.state.screen is Screen.HOME
    flow.start()
    assert flow.state.screen is Screen.NUMBER


def test_a_rate_limited_answer_has_its_own_screen():
    flow = Flow()
    at_id(flow)
    typed(flow, "1234567897")
    flow.next()
    flow.answered(Reply(found=False, text="", rate_limited=True), NOW)
    assert flow.state.screen is Screen.RATE_LIMITED and flow.state.reply is None


def test_a_printer_problem_goes_back_to_the_result_with_the_notice():
    flow = Flow()
    at_id(flow)
    typed(flow, "1234567897")
    flow.next()
    flow.answered(FOUND, NOW)
    [job] = flow.print_receipt()
    flow.printed(job.session, "printer_problem")
    assert (flow.state.screen, flow.state.notice, flow.state.reply) == \
        (Screen.RESULT, "printer_problem", FOUND)


def test_a_receipts_outcome_reaches_only_the_citizen_who_asked_for_it():
    flow = Flow()
    at_id(flow)
    typed(flow, "1234567897")
    flow.next()
    flow.answered(FOUND, NOW)
    [first] = flow.print_receipt()
    flow.finish()  # gone before the printer answered
    assert not flow.current(first.session)
    at_id(flow)
    typed(flow, "1234567897")
    flow.next()
    flow.answered(FOUND, NOW)
    [second] = flow.print_receipt()
    assert second.session != first.session
    flow.printed(first.session)
    assert flow.state.screen is Screen.RECEIPT and not flow.state.printed
    flow.printed(first.session, "printer_problem")
    assert (flow.state.screen, flow.state.notice) == (Screen.RECEIPT, "")
    flow.printed(second.session)
    assert flow.state.printed


def test_every_wipe_starts_a_new_session():
    flow = Flow()
    for wipe in (flow.finish, lambda: [flow.tick() for _ in range(
            flow.idle_seconds + STILL_THERE_SECONDS)]):
        at_id(flow)
        session = flow.session
        wipe()
        assert flow.state.screen is Screen.HOME and not flow.current(session)


def test_no_print_button_without_a_printer():
    flow = Flow(can_print=False)
    at_id(flow)
    typed(flow, "1234567897")
    flow.next()
    flow.answered(FOUND, NOW)
    assert flow.print_receipt() == [] and flow.state.screen is Screen.RESULT


def test_three_wrong_pins_lock_the_technician_out_for_longer_each_time():
    flow = Flow(technician_pin="246813")
    for lock in PIN_LOCK_SECONDS[:2]:
        flow.technician()
        for _ in range(PIN_ATTEMPTS):
            typed(flow, "111111")
            flow.next()
        assert flow.state.notice == "pin_locked"
        typed(flow, "246813")  # the right PIN is not even compared while locked
        flow.next()
        assert flow.state.screen is Screen.PIN
        flow.finish()
        for _ in range(lock - 1):
            flow.tick()
        assert flow.pin_locked_left == 1
        flow.tick()
    assert flow.pin_failures == 2 * PIN_ATTEMPTS
    flow.technician()
    typed(flow, "246813")
    flow.next()
    assert flow.state.screen is Screen.MAINTENANCE
    assert flow.exit_app() == [Quit()]


def test_the_technician_needs_the_right_pin():
    flow = Flow(technician_pin="2468")
    flow.technician()
    assert flow.state.screen is Screen.PIN
    typed(flow, "1111")
    flow.next()
    assert (flow.state.screen, flow.state.notice, flow.state.pin) == \
        (Screen.PIN, "wrong_pin", "")
    typed(flow, "2468")
    assert flow.next() == [ProbeGateway()]  # the maintenance screen shows things as they are
    assert flow.state.screen is Screen.MAINTENANCE
    assert flow.exit_app() == [Quit()]


def test_no_pin_configured_means_no_technician_exit():
    flow = Flow(technician_pin="")
    flow.technician()
    assert flow.state.screen is Screen.HOME
    assert flow.exit_app() == []


def test_an_answer_that_beat_a_failed_heartbeat_is_still_shown():
    flow = Flow()
    at_id(flow)
    typed(flow, "1234567897")
    flow.next()
    flow.unreachable()  # the heartbeat failed while the inquiry was in flight
    flow.answered(FOUND, NOW)
    assert flow.state.screen is Screen.RESULT and not flow.state.offline


def test_the_technician_can_get_in_while_the_gateway_is_unreachable():
    flow = Flow(technician_pin="2468")
    flow.unreachable()
    flow.technician()
    assert flow.state.screen is Screen.PIN
    at_id_flow = Flow(technician_pin="2468")
    at_id(at_id_flow)
    at_id_flow.technician()  # never over a citizen's screen
    assert at_id_flow.state.screen is Screen.NATIONAL_ID
