"""The kiosk's screen flow as plain Python: no Qt, no network, no clock of its own.

The widgets call the intent methods (a tap on a key, "next", "print") and render
``flow.state``; what must leave the process (an inquiry, a receipt to print, a probe of
the gateway, quitting) comes back as effects for the Qt layer to carry out, and their
outcomes come back in as intents. Time moves only by ``tick()`` (one call a second), so
the idle wipe and the offline back-off are tested by counting, never by waiting.

home -> number -> national ID -> waiting -> result -> receipt -> home, with the offline
and error screens, the "still there?" countdown and the technician's PIN and
maintenance screens beside them.
"""

from __future__ import annotations

import enum
import hmac
from dataclasses import dataclass, field, replace
from datetime import datetime

from core.digits import MAX_NUMBER_LENGTH, MIN_NUMBER_LENGTH, normalize_digits
from core.identity import NATIONAL_ID_LENGTH

STILL_THERE_SECONDS = 15
BACKOFF_SECONDS = (5, 10, 20, 40, 60)
PIN_MAX_LENGTH = 12


class Screen(enum.Enum):
    HOME = "home"
    NUMBER = "number"
    NATIONAL_ID = "national_id"
    WAITING = "waiting"
    RESULT = "result"
    RECEIPT = "receipt"
    OFFLINE = "offline"
    ERROR = "error"
    STILL_THERE = "still_there"
    PIN = "pin"
    MAINTENANCE = "maintenance"


# Screens that hold something a citizen typed or was told: the idle timer watches them.
PRIVATE_SCREENS = frozenset({Screen.NUMBER, Screen.NATIONAL_ID, Screen.WAITING,
                             Screen.RESULT, Screen.RECEIPT, Screen.ERROR, Screen.PIN,
                             Screen.MAINTENANCE})


TECHNICIAN_SCREENS = frozenset({Screen.HOME, Screen.OFFLINE, Screen.ERROR})


@dataclass(frozen=True)
class Reply:
    """The gateway's answer to one inquiry, as the screen and the receipt need it."""

    found: bool
    text: str
    number: str = ""
    status_text: str = ""
    rate_limited: bool = False


@dataclass(frozen=True)
class SendInquiry:
    number: str
    national_id: str
    lang: str


@dataclass(frozen=True)
class PrintReceipt:
    reply: Reply
    lang: str


@dataclass(frozen=True)
class ProbeGateway:
    """Ask the gateway whether it answers (a heartbeat)."""


@dataclass(frozen=True)
class Quit:
    """The technician chose to leave the kiosk app."""


Effect = SendInquiry | PrintReceipt | ProbeGateway | Quit


@dataclass(frozen=True)
class State:
    screen: Screen = Screen.HOME
    lang: str = "ar"
    large_text: bool = False
    high_contrast: bool = False
    number: str = ""
    national_id: str = ""
    reply: Reply | None = None
    # A short reason shown on the screen (a hint under the keypad, a printer problem).
    notice: str = ""
    printed: bool = False
    # Offline: seconds until the next try, the try count, when the gateway last answered.
    offline: bool = False
    retry_in: int = 0
    retries: int = 0
    last_reached: datetime | None = None
    pin: str = ""
    idle_left: int = 0
    still_there_left: int = 0
    resume_screen: Screen | None = None


def backoff(retries: int) -> int:
    """Seconds before try number ``retries + 1``: 5, 10, 20, 40, then every minute."""
    return BACKOFF_SECONDS[min(retries, len(BACKOFF_SECONDS) - 1)]


@dataclass
class Flow:
    """The kiosk's screens and what a citizen has typed, in memory only."""

    idle_seconds: int = 60
    default_lang: str = "ar"
    large_text: bool = False
    high_contrast: bool = False
    technician_pin: str = ""
    state: State = field(init=False)

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
                Screen.PIN: ("pin", PIN_MAX_LENGTH)}.get(self.state.screen)

    def digit(self, key: str) -> list[Effect]:
        key = normalize_digits(key)
        target = self._field()
        if target is None or len(key) != 1 or not key.isdigit():
            return []
        name, limit = target
        value = getattr(self.state, name)
        if len(value) < limit:
            self.state = replace(self.state, **{name: value + key}, notice="")
        return []

    def backspace(self) -> list[Effect]:
        target = self._field()
        if target is not None:
            name = target[0]
            self.state = replace(self.state, **{name: getattr(self.state, name)[:-1]},
                                 notice="")
        return []

    def next(self) -> list[Effect]:
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
        """One step back: ID -> number -> home; from anywhere else, home."""
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
        return self._go(Screen.RESULT, reply=reply, national_id="", offline=False,
                        retries=0, last_reached=now)

    def unreachable(self) -> list[Effect]:
        """The gateway did not answer (network down, timeout, 5xx)."""
        s = self.state
        retries = s.retries + 1 if s.offline else 0
        changes = {"offline": True, "retries": retries, "retry_in": backoff(retries)}
        # Typing is not interrupted by a failed heartbeat; the inquiry will find out.
        if s.screen in (Screen.HOME, Screen.WAITING):
            return self._go(Screen.OFFLINE, **changes)
        self.state = replace(s, **changes)
        return []

    def reached(self, now: datetime) -> list[Effect]:
        """The gateway answered a probe; an inquiry waiting offline is sent now."""
        s = self.state
        self.state = replace(s, offline=False, retries=0, retry_in=0, last_reached=now)
        if s.screen is Screen.OFFLINE:
            if s.number and s.national_id:
                return self._send()
            return self._go(Screen.HOME)
        return []

    def refused(self, reason: str) -> list[Effect]:
        """The gateway answered but will not serve this kiosk (token) or request."""
        if self.state.screen in (Screen.WAITING, Screen.HOME):
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
        if s.screen is not Screen.RESULT or s.reply is None or not s.reply.found:
            return []
        self._go(Screen.RECEIPT, notice="", printed=False)
        return [PrintReceipt(s.reply, s.lang)]

    def printed(self, problem: str = "") -> list[Effect]:
        if self.state.screen is Screen.RECEIPT:
            self.state = replace(self.state, printed=not problem, notice=problem)
        return []

    def finish(self) -> list[Effect]:
        """Done: home, with nothing of this citizen kept (their language choice too)."""
        return self.wipe()

    def wipe(self) -> list[Effect]:
        s = self.state
        fresh = self._fresh()
        self.state = replace(fresh, offline=s.offline, retry_in=s.retry_in,
                             retries=s.retries, last_reached=s.last_reached,
                             screen=Screen.OFFLINE if s.offline else Screen.HOME)
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
        if s.screen in PRIVATE_SCREENS and s.screen is not Screen.WAITING:
            s = replace(s, idle_left=s.idle_left - 1)
            if s.idle_left <= 0:
                s = replace(s, screen=Screen.STILL_THERE, resume_screen=s.screen,
                            still_there_left=STILL_THERE_SECONDS)
        elif s.screen is Screen.OFFLINE and (s.number or s.national_id):
            s = replace(s, idle_left=s.idle_left - 1)
            if s.idle_left <= 0:
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
        return self._go(Screen.PIN, pin="", notice="")

    def _check_pin(self) -> list[Effect]:
        typed = self.state.pin
        if hmac.compare_digest(typed.encode(), self.technician_pin.encode()):
            return self._go(Screen.MAINTENANCE, pin="", notice="")
        self.state = replace(self.state, pin="", notice="wrong_pin")
        return []

    def exit_app(self) -> list[Effect]:
        if self.state.screen is not Screen.MAINTENANCE:
            return []
        return [Quit()]
