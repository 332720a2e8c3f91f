"""The kiosk's screen flow as plain Python: no Qt, no network, no clock of its own.

The widgets call the intent methods (a tap on a key, "next", "print") and render
``flow.state``; what must leave the process (an inquiry, a receipt to print, a probe of
the gateway, quitting) comes back as effects for the Qt layer to carry out, and their
outcomes come back in as intents. Time moves only by ``tick()`` (one call a second), so
the idle wipe and the offline back-off are tested by counting, never by waiting.

home -> number -> national ID -> waiting -> result -> receipt -> home, with the offline
and error screens, the "still there?" countdown and the technician's PIN and
maintenance screens beside them.

An inquiry cut off by an outage is never sent later on its own: whoever stands at the
kiosk when the gateway is back may not be who typed it. The offline screen keeps it
for at most ``idle_seconds`` (touches do not extend that) and the gateway's return
wipes it. A revoked token keeps the kiosk out of service until a heartbeat succeeds.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from channels.kiosk.effects import Effect, PrintReceipt, ProbeGateway, Quit, SendInquiry
from channels.kiosk.mine import MineSteps
from channels.kiosk.state import (
    PRIVATE_SCREENS,
    TECHNICIAN_SCREENS,
    Catalogue,
    Reply,
    Screen,
    State,
)
from channels.kiosk.voice import VoiceSteps
from core.identity.digits import MAX_NUMBER_LENGTH, MIN_NUMBER_LENGTH, normalize_digits
from core.identity.national_id import NATIONAL_ID_LENGTH

STILL_THERE_SECONDS = 15
BACKOFF_SECONDS = (5, 10, 20, 40, 60)
PIN_MAX_LENGTH = 12
# Wrong technician PINs in a row before a lock, and how long the 1st, 2nd, 3rd... lock is.
PIN_ATTEMPTS = 3
PIN_LOCK_SECONDS = (60, 300, 1800)


def backoff(retries: int) -> int:
    """Seconds before try number ``retries + 1``: 5, 10, 20, 40, then every minute."""
    return BACKOFF_SECONDS[min(retries, len(BACKOFF_SECONDS) - 1)]


@dataclass
class Flow(VoiceSteps, MineSteps):
    """The kiosk's screens and what a citizen has typed, in memory only (Citizen's
    Voice's steps: channels/kiosk/voice.py; "my transactions": channels/kiosk/mine.py)."""

    idle_seconds: int = 60
    default_lang: str = "ar"
    large_text: bool = False
    high_contrast: bool = False
    technician_pin: str = ""
    # False when there is neither a printer nor a test-mode PDF directory: no print button.
    can_print: bool = True
    state: State = field(init=False)
    # The technician PIN's wrong tries: in a row (for the lock), in all (for heartbeats).
    pin_strikes: int = field(default=0, init=False)
    pin_failures: int = field(default=0, init=False)
    pin_locks: int = field(default=0, init=False)
    pin_locked_left: int = field(default=0, init=False)
    # One a citizen: bumped at every wipe (and every new inquiry), so a receipt asked for
    # by one citizen never prints, nor says "take it", while the next one stands there.
    session: int = field(default=0, init=False)
    # The agencies and categories as the gateway last listed them (nobody's data).
    catalogue: Catalogue | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        self.state = self._fresh()

    def _fresh(self) -> State:
        return State(lang=self.default_lang, large_text=self.large_text,
                     high_contrast=self.high_contrast, idle_left=self.idle_seconds)

    def _go(self, screen: Screen, **changes) -> list[Effect]:
        self.state = replace(self.state, screen=screen, idle_left=self.idle_seconds,
                             **changes)
        return []

    # --- home ---------------------------------------------------------------------

    def start(self) -> list[Effect]:
        if self.state.out_of_service:
            return []
        self.session += 1
        return self._go(Screen.NUMBER, number="", national_id="", reply=None, notice="",
                        printed=False)

    def switch_language(self) -> list[Effect]:
        self.state = replace(self.state, lang="en" if self.state.lang == "ar" else "ar")
        return []

    def toggle_large_text(self) -> list[Effect]:
        self.state = replace(self.state, large_text=not self.state.large_text)
        return []

    def toggle_high_contrast(self) -> list[Effect]:
        self.state = replace(self.state, high_contrast=not self.state.high_contrast)
        return []

    # --- the keypad ---------------------------------------------------------------

    def _field(self) -> tuple[str, int] | None:
        return {Screen.NUMBER: ("number", MAX_NUMBER_LENGTH),
                Screen.NATIONAL_ID: ("national_id", NATIONAL_ID_LENGTH),
                Screen.PIN: ("pin", PIN_MAX_LENGTH)}.get(self.state.screen) \
            or self.voice_field() or self.mine_field()

    def digit(self, key: str) -> list[Effect]:
        key = normalize_digits(key)
        target = self._field()
        if target is None or len(key) != 1 or not key.isdigit():
            return []
        name, limit = target
        value = getattr(self.state, name)
        if len(value) < limit:
            self.state = replace(self.state, **{name: value + key}, notice="")
            self.voice_typed()
        return []

    def backspace(self) -> list[Effect]:
        target = self._field()
        if target is not None:
            name = target[0]
            self.state = replace(self.state, **{name: getattr(self.state, name)[:-1]},
                                 notice="")
            self.voice_typed()
        return []

    def next(self) -> list[Effect]:
        voiced = self.voice_next()
        if voiced is not None:
            return voiced
        mine = self.mine_next()
        if mine is not None:
            return mine
        s = self.state
        if s.screen is Screen.NUMBER:
            if len(s.number) < MIN_NUMBER_LENGTH:
                self.state = replace(s, notice="number_too_short")
                return []
            return self._go(Screen.NATIONAL_ID, notice="")
        if s.screen is Screen.NATIONAL_ID:
            if len(s.national_id) != NATIONAL_ID_LENGTH:
                self.state = replace(s, notice="id_length")
                return []
            return self._send()
        if s.screen is Screen.PIN:
            return self._check_pin()
        return []

    def back(self) -> list[Effect]:
        """One step back: ID -> number -> home; in Citizen's Voice one screen back;
        from anywhere else, home."""
        stepped = self.voice_back()
        if stepped is None:
            stepped = self.mine_back()
        if stepped is not None:
            return stepped
        if self.state.screen is Screen.NATIONAL_ID:
            return self._go(Screen.NUMBER, national_id="", notice="")
        return self.finish()

    def _send(self) -> list[Effect]:
        s = self.state
        self._go(Screen.WAITING, notice="")
        return [SendInquiry(s.number, s.national_id, s.lang)]

    # --- answers from the gateway -------------------------------------------------

    def answered(self, reply: Reply, now: datetime) -> list[Effect]:
        s = self.state
        # A heartbeat may have failed while the answer was on its way (offline screen,
        # inquiry kept): the answer still counts. Wiped meanwhile: nobody to show it to.
        waiting = s.screen is Screen.WAITING or (s.screen is Screen.OFFLINE and s.national_id)
        if not waiting:
            return []
        # The ID is not needed any more: it leaves memory as soon as the answer is in.
        if reply.rate_limited:
            return self._go(Screen.RATE_LIMITED, reply=None, national_id="", offline=False,
                            retries=0, last_reached=now, held_left=0)
        return self._go(Screen.RESULT, reply=reply, national_id="", offline=False,
                        retries=0, last_reached=now, held_left=0)

    def unreachable(self) -> list[Effect]:
        """The gateway did not answer (network down, timeout, 5xx)."""
        s = self.state
        retries = s.retries + 1 if s.offline else 0
        changes: dict[str, Any] = {"offline": True, "retries": retries,
                                   "retry_in": backoff(retries)}
        # Typing is not interrupted by a failed heartbeat; the inquiry will find out,
        # as a Citizen's Voice request does (channels/kiosk/voice.py).
        if s.screen is Screen.WAITING and s.pending:
            self.state = replace(s, **changes)
            return []
        if s.screen in (Screen.HOME, Screen.WAITING):
            held = self.idle_seconds if s.screen is Screen.WAITING else 0
            return self._go(Screen.OFFLINE, held_left=held, **changes)
        self.state = replace(s, **changes)
        return []

    def reached(self, now: datetime) -> list[Effect]:
        """The gateway answered a probe. An inquiry held offline is wiped, never sent:
        the citizen who typed it may be gone (they start again from home)."""
        s = self.state
        self.state = replace(s, offline=False, retries=0, retry_in=0, last_reached=now,
                             out_of_service="")
        if s.screen in (Screen.OFFLINE, Screen.ERROR) and (s.offline or s.out_of_service):
            return self.wipe()
        return []

    def refused(self, reason: str, *, sticky: bool = False) -> list[Effect]:
        """The gateway answered but will not serve this kiosk (``sticky``: a revoked
        token, a redirect; until a heartbeat succeeds) or this request."""
        if sticky:
            self.state = replace(self.state, out_of_service=reason)
        if self.state.screen in (Screen.WAITING, Screen.HOME, Screen.OFFLINE):
            if sticky:
                return self.wipe()
            return self._go(Screen.ERROR, notice=reason, national_id="")
        return []

    def retry_now(self) -> list[Effect]:
        if self.state.screen is not Screen.OFFLINE:
            return []
        self.state = replace(self.state, retry_in=0)
        return [ProbeGateway()]

    # --- result and receipt -------------------------------------------------------

    def print_receipt(self) -> list[Effect]:
        s = self.state
        if (not self.can_print or s.screen is not Screen.RESULT or s.reply is None
                or not s.reply.found):
            return []
        self._go(Screen.RECEIPT, notice="", printed=False)
        return [PrintReceipt(s.reply, s.lang, self.session)]

    def current(self, session: int) -> bool:
        """Whether ``session`` is the citizen's now at the kiosk (nothing wiped since)."""
        return session == self.session

    def printed(self, session: int, problem: str = "") -> list[Effect]:
        """The printer's outcome for the receipt of ``session``; on a problem, back to the
        result (the status is on the screen, as the notice says). Another citizen's
        outcome (their screen wiped since) is not this one's to see."""
        if self.current(session) and self.state.screen is Screen.RECEIPT:
            if problem:  # back to the answer, or to the tracking number
                back = Screen.RESULT if self.state.reply is not None else Screen.VOICE_FILED
                return self._go(back, printed=False, notice=problem)
            self.state = replace(self.state, printed=True, notice="")
        return []

    def finish(self) -> list[Effect]:
        """Done: home, with nothing of this citizen kept (their language choice too)."""
        return self.wipe()

    def wipe(self) -> list[Effect]:
        s = self.state
        self.session += 1
        fresh = self._fresh()
        screen = (Screen.ERROR if s.out_of_service else Screen.OFFLINE if s.offline
                  else Screen.HOME)
        self.state = replace(fresh, offline=s.offline, retry_in=s.retry_in,
                             retries=s.retries, last_reached=s.last_reached,
                             out_of_service=s.out_of_service, screen=screen)
        return []

    # --- idle ---------------------------------------------------------------------

    def touch(self) -> None:
        """Any touch or key: the citizen is still there."""
        if self.state.idle_left != self.idle_seconds:
            self.state = replace(self.state, idle_left=self.idle_seconds)

    def still_here(self) -> list[Effect]:
        s = self.state
        if s.screen is not Screen.STILL_THERE:
            return []
        return self._go(s.resume_screen or Screen.HOME, resume_screen=None,
                        still_there_left=0)

    def tick(self) -> list[Effect]:
        """One second passed."""
        if self.pin_locked_left > 0:
            self.pin_locked_left -= 1
        s = self.state
        if s.screen is Screen.STILL_THERE:
            if s.still_there_left <= 1:
                return self.wipe()
            self.state = replace(s, still_there_left=s.still_there_left - 1)
            return []
        effects: list[Effect] = []
        if s.offline and s.retry_in > 0:
            s = replace(s, retry_in=s.retry_in - 1)
            if s.retry_in == 0:
                effects.append(ProbeGateway())
        # Out of service after a wipe, nothing private is left on the error screen.
        idle_watch = (s.screen in PRIVATE_SCREENS and s.screen is not Screen.WAITING
                      and not (s.screen is Screen.ERROR and s.out_of_service))
        if idle_watch:
            s = replace(s, idle_left=s.idle_left - 1)
            if s.idle_left <= 0:
                s = replace(s, screen=Screen.STILL_THERE, resume_screen=s.screen,
                            still_there_left=STILL_THERE_SECONDS)
        elif s.screen is Screen.OFFLINE and (s.number or s.national_id):
            # Counted apart from idle_left: a touch does not keep a held inquiry alive.
            s = replace(s, held_left=s.held_left - 1)
            if s.held_left <= 0:
                self.state = s
                return [*effects, *self.wipe()]
        self.state = s
        return effects

    # --- technician ---------------------------------------------------------------

    def technician(self) -> list[Effect]:
        """The hidden long press: ask for the PIN (never when no PIN is configured).

        Only where no citizen's data is on screen; the offline and out-of-service
        screens too, since that is when a technician is called."""
        if not self.technician_pin or self.state.screen not in TECHNICIAN_SCREENS:
            return []
        return self._go(Screen.PIN, pin="",
                        notice="pin_locked" if self.pin_locked_left else "")

    def _check_pin(self) -> list[Effect]:
        """After ``PIN_ATTEMPTS`` wrong PINs in a row, no PIN is even compared for
        ``PIN_LOCK_SECONDS`` (growing with each lock): guessing takes days, not minutes."""
        if self.pin_locked_left:
            self.state = replace(self.state, pin="", notice="pin_locked")
            return []
        typed = self.state.pin
        if hmac.compare_digest(typed.encode(), self.technician_pin.encode()):
            self.pin_strikes = self.pin_locks = 0
            self._go(Screen.MAINTENANCE, pin="", notice="")
            return [ProbeGateway()]  # the screen shows the gateway and printer as they are
        self.pin_failures += 1
        self.pin_strikes += 1
        notice = "wrong_pin"
        if self.pin_strikes >= PIN_ATTEMPTS:
            self.pin_locked_left = PIN_LOCK_SECONDS[min(self.pin_locks,
                                                        len(PIN_LOCK_SECONDS) - 1)]
            self.pin_locks += 1
            self.pin_strikes = 0
            notice = "pin_locked"
        self.state = replace(self.state, pin="", notice=notice)
        return []

    def exit_app(self) -> list[Effect]:
        if self.state.screen is not Screen.MAINTENANCE:
            return []
        return [Quit()]
