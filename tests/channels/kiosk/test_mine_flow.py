""""My transactions" at the kiosk as plain Python (channels/kiosk/mine.py): the ID on
the keypad asks for a code, the code opens the list, a wrong code says so, and the idle
wipe takes the ID, the code, the ticket and the list."""

from __future__ import annotations

from datetime import UTC, datetime

from channels.kiosk.effects import AskMineCode, OpenMine
from channels.kiosk.flow import STILL_THERE_SECONDS, Flow
from channels.kiosk.state import MineList, MineTransaction, Refusal, Screen

NOW = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)
NATIONAL_ID = "1012345674"
LIST = MineList((MineTransaction("4471234", "طلب", "Registered", "1 Dec 2026", None, None,
                                 None),), 0, ())


def dial(flow: Flow, digits: str) -> None:
    for digit in digits:
        flow.digit(digit)


def at_code(flow: Flow) -> None:
    flow.open_mine()
    assert flow.state.screen is Screen.MINE_ID
    dial(flow, "١٠١٢٣٤٥٦٧٤")  # Arabic-Indic keys are the same digits
    assert flow.next() == [AskMineCode(NATIONAL_ID, "ar")]
    assert flow.state.screen is Screen.WAITING
    flow.voice_answered("ticket-1", NOW)
    assert flow.state.screen is Screen.MINE_CODE
    assert flow.state.mine_id == ""  # the ticket stands for it now


def test_the_id_then_the_code_open_the_list():
    flow = Flow()
    at_code(flow)
    dial(flow, "123456")
    assert flow.next() == [OpenMine("ticket-1", "123456", "ar")]
    flow.voice_answered(LIST, NOW)
    assert flow.state.screen is Screen.MINE_LIST and flow.state.mine == LIST
    assert flow.state.mine_code == "" and flow.state.mine_ticket == ""


def test_a_short_id_or_code_is_told_on_screen():
    flow = Flow()
    flow.open_mine()
    dial(flow, "123")
    assert flow.next() == [] and flow.state.notice == "id_length"
    flow.backspace()
    at_code(Flow())


def test_a_wrong_code_keeps_the_ticket_and_says_so():
    flow = Flow()
    at_code(flow)
    dial(flow, "000000")
    flow.next()
    flow.voice_answered(Refusal("wrong_code"), NOW)
    assert flow.state.screen is Screen.MINE_CODE and flow.state.notice == "wrong_code"
    assert flow.state.mine_ticket == "ticket-1" and flow.state.mine_code == ""


def test_no_answer_goes_back_with_what_was_typed():
    flow = Flow()
    at_code(flow)
    dial(flow, "123456")
    flow.next()
    flow.voice_unreachable()
    assert flow.state.screen is Screen.MINE_CODE and flow.state.mine_code == "123456"


def test_the_idle_wipe_takes_the_list():
    flow = Flow(idle_seconds=5)
    at_code(flow)
    dial(flow, "123456")
    flow.next()
    flow.voice_answered(LIST, NOW)
    for _ in range(5 + STILL_THERE_SECONDS):
        flow.tick()
    assert flow.state.screen is Screen.HOME
    assert flow.state.mine is None and flow.state.mine_ticket == ""
