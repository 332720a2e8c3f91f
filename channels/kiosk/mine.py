""""My transactions" at the kiosk, as plain Python, mixed into the kiosk's ``Flow`` like
Citizen's Voice: the national ID on the keypad -> a code sent by SMS to the mobile on the
citizen's transactions -> the code on the keypad -> the list (their transactions and
cases) on screen.

The gateway answers the ID the same way whatever it is (``gateway/my_api.py``), so the
screen does too: "if this ID has transactions, a code was sent". The ID, the code, the
gateway's ticket and the list live in ``Flow.state`` only, and go with the idle wipe
and "done" like everything a citizen typed.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from channels.kiosk.effects import AskMineCode, Effect, OpenMine
from channels.kiosk.state import MineList, Refusal, Screen, State
from core.identity.national_id import NATIONAL_ID_LENGTH

CODE_LENGTH = 6


class MineSteps:
    """The "my transactions" intents of ``Flow`` (which provides the state and ``_go``)."""

    state: State
    session: int

    def _go(self, screen: Screen, **changes: Any) -> list[Effect]:
        raise NotImplementedError

    def open_mine(self) -> list[Effect]:
        """The home screen's "my transactions" tile: a new citizen's ID screen."""
        if self.state.out_of_service:
            return []
        self.session += 1
        return self._go(Screen.MINE_ID, mine_id="", mine_code="", mine_ticket="",
                        mine=None, notice="", pending="")

    def mine_field(self) -> tuple[str, int] | None:
        """The keypad's field on the ID and code screens (``Flow.digit``)."""
        return {Screen.MINE_ID: ("mine_id", NATIONAL_ID_LENGTH),
                Screen.MINE_CODE: ("mine_code", CODE_LENGTH)}.get(self.state.screen)

    def mine_next(self) -> list[Effect] | None:
        """"Next" on the ID or code screen; None on any other."""
        s = self.state
        if s.screen is Screen.MINE_ID:
            if len(s.mine_id) != NATIONAL_ID_LENGTH:
                self.state = replace(s, notice="id_length")
                return []
            self._go(Screen.WAITING, pending="mine_code", notice="")
            return [AskMineCode(s.mine_id, s.lang)]
        if s.screen is Screen.MINE_CODE:
            if len(s.mine_code) != CODE_LENGTH:
                self.state = replace(s, notice="code_length")
                return []
            self._go(Screen.WAITING, pending="mine_list", notice="")
            return [OpenMine(s.mine_ticket, s.mine_code, s.lang)]
        return None

    def mine_back(self) -> list[Effect] | None:
        """"Back" on the code screen: the ID again (a new code); None elsewhere."""
        if self.state.screen is Screen.MINE_CODE:
            return self._go(Screen.MINE_ID, mine_code="", mine_ticket="", notice="")
        return None

    def mine_answered(self, pending: str, outcome: object, now: datetime) -> list[Effect]:
        """The gateway's answer to a "my transactions" request: the ticket (the code was
        sent, if the ID has transactions), the list, or a refusal."""
        if isinstance(outcome, Refusal):
            return self._mine_refused(pending, outcome)
        if pending == "mine_code" and isinstance(outcome, str):
            # The ID leaves memory: the ticket stands for it from now on.
            return self._go(Screen.MINE_CODE, mine_id="", mine_code="", mine_ticket=outcome,
                            notice="", last_reached=now)
        if pending == "mine_list" and isinstance(outcome, MineList):
            return self._go(Screen.MINE_LIST, mine=outcome, mine_code="", mine_ticket="",
                            notice="", last_reached=now)
        return self.mine_unreachable(pending)

    def _mine_refused(self, pending: str, refusal: Refusal) -> list[Effect]:
        code = refusal.code
        if code == "wrong_code":
            return self._go(Screen.MINE_CODE, mine_code="", notice="wrong_code")
        if code == "too_many_codes":
            return self._go(Screen.MINE_ID, mine_id="", mine_code="", mine_ticket="",
                            notice="too_many_codes")
        if pending == "mine_code":  # an ID the gateway did not take
            return self._go(Screen.MINE_ID, mine_id="", notice="id_invalid")
        # The ticket or the proof is too old: start again with the ID.
        return self._go(Screen.MINE_ID, mine_id="", mine_code="", mine_ticket="",
                        notice="mine_expired")

    def mine_unreachable(self, pending: str) -> list[Effect]:
        """No answer: back to the screen it was sent from, what was typed kept."""
        screen = Screen.MINE_ID if pending == "mine_code" else Screen.MINE_CODE
        return self._go(screen, pending="", notice="voice_offline")
