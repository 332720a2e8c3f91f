"""The kiosk flow's state: its screens, what a citizen typed and was told, and the
gateway's answer; channels/kiosk/flow.py moves it from screen to screen.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime


class Screen(enum.Enum):
    HOME = "home"
    NUMBER = "number"
    NATIONAL_ID = "national_id"
    WAITING = "waiting"
    RESULT = "result"
    RECEIPT = "receipt"
    OFFLINE = "offline"
    ERROR = "error"
    RATE_LIMITED = "rate_limited"
    STILL_THERE = "still_there"
    PIN = "pin"
    MAINTENANCE = "maintenance"
    # Citizen's Voice (channels/kiosk/voice.py).
    VOICE = "voice"
    VOICE_AGENCY = "voice_agency"
    VOICE_CATEGORY = "voice_category"
    VOICE_TEXT = "voice_text"
    VOICE_MOBILE = "voice_mobile"
    VOICE_CONFIRM = "voice_confirm"
    VOICE_FILED = "voice_filed"
    FOLLOW_TRACKING = "follow_tracking"
    FOLLOW_MOBILE = "follow_mobile"
    FOLLOW_CASE = "follow_case"
    FOLLOW_REPLY = "follow_reply"
    FOLLOW_CODE = "follow_code"
    # "My transactions" (channels/kiosk/mine.py).
    MINE_ID = "mine_id"
    MINE_CODE = "mine_code"
    MINE_LIST = "mine_list"


MINE_SCREENS = frozenset({Screen.MINE_ID, Screen.MINE_CODE, Screen.MINE_LIST})
VOICE_SCREENS = frozenset({Screen.VOICE, Screen.VOICE_AGENCY, Screen.VOICE_CATEGORY,
                           Screen.VOICE_TEXT, Screen.VOICE_MOBILE, Screen.VOICE_CONFIRM,
                           Screen.VOICE_FILED, Screen.FOLLOW_TRACKING, Screen.FOLLOW_MOBILE,
                           Screen.FOLLOW_CASE, Screen.FOLLOW_REPLY, Screen.FOLLOW_CODE})


# Screens that hold something a citizen typed or was told: the idle timer watches them.
PRIVATE_SCREENS = frozenset({Screen.NUMBER, Screen.NATIONAL_ID, Screen.WAITING,
                             Screen.RESULT, Screen.RECEIPT, Screen.ERROR, Screen.PIN,
                             Screen.MAINTENANCE, Screen.RATE_LIMITED}) | VOICE_SCREENS \
    | MINE_SCREENS


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
class Category:
    code: str
    name_ar: str
    name_en: str
    types: tuple[str, ...]

    def name(self, lang: str) -> str:
        return self.name_ar if lang == "ar" else self.name_en


@dataclass(frozen=True)
class Agency:
    code: str
    name_ar: str
    name_en: str
    categories: tuple[Category, ...] = ()

    def name(self, lang: str) -> str:
        return self.name_ar if lang == "ar" else self.name_en

    def categories_for(self, case_type: str) -> tuple[Category, ...]:
        return tuple(c for c in self.categories if case_type in c.types)


@dataclass(frozen=True)
class Catalogue:
    """The agencies and categories a citizen chooses from (the gateway's, not private)."""

    agencies: tuple[Agency, ...]
    emirate: str

    def agency(self, code: str) -> Agency | None:
        return next((a for a in self.agencies if a.code == code), None)


@dataclass(frozen=True)
class Draft:
    """The case a citizen is filing. ``key``: the Idempotency-Key of the attempt to file
    it, kept while nothing changes (a retry files once), dropped at any change."""

    case_type: str = ""
    agency: str = ""
    category: str = ""
    text: str = ""
    key: str = ""


@dataclass(frozen=True)
class Step:
    words: str
    text: str | None = None


@dataclass(frozen=True)
class CaseView:
    """A citizen's case as the gateway shows it to them (in the screen's language)."""

    tracking: str
    case_type: str
    state: str
    state_text: str
    agency: str
    category: str | None
    question: str | None
    answer: str | None
    rating: int | None
    reopen_until: str | None
    may_reply: bool
    may_rate: bool
    may_reopen: bool
    history: tuple[Step, ...] = ()


@dataclass(frozen=True)
class Acted:
    """The gateway did the citizen's act: the case as they now see it, and the proof
    (signed by the gateway, this case only, half an hour) that lets a next act in the
    same visit go without another code."""

    case: CaseView
    proof: str


@dataclass(frozen=True)
class MineTransaction:
    """One of the citizen's transactions, as the gateway words it (in the screen's
    language)."""

    number: str
    subject: str
    stage: str
    registered_on: str
    department: str | None
    outgoing_number: str | None
    destination_agency: str | None


@dataclass(frozen=True)
class MineCase:
    tracking: str
    case_type: str
    state_text: str
    received_on: str


@dataclass(frozen=True)
class MineList:
    """"My transactions": the citizen's transactions, how many more, their cases."""

    transactions: tuple[MineTransaction, ...]
    more: int
    cases: tuple[MineCase, ...]


@dataclass(frozen=True)
class Refusal:
    """The gateway refused a Citizen's Voice request (its error code): not found, too
    many, a state that does not allow it, input it did not accept."""

    code: str


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
    # Why the gateway refused this kiosk (revoked token, redirect); sticky until a
    # heartbeat succeeds: every wipe lands on the out-of-service screen meanwhile.
    out_of_service: str = ""
    # Seconds an inquiry held on the offline screen has left before it is wiped.
    held_left: int = 0
    pin: str = ""
    # Citizen's Voice: the case being filed, the mobile for its SMS, the tracking number
    # it got (or that is followed), the followed case, the reply typed to its question,
    # the keyboard's layout ("": the screen's language, "digits"), what the gateway is
    # being asked ("catalogue", "file", "view", "act"), and the last act's key.
    draft: Draft = Draft()
    mobile: str = ""
    tracking: str = ""
    case: CaseView | None = None
    reply_text: str = ""
    keyboard: str = ""
    keyboard_digits: bool = False
    pending: str = ""
    act_key: str = ""
    act_sig: str = ""
    # Acting on a followed case needs a code sent to the case's own mobile (the pair read
    # it, it does not act): the code as typed, the gateway's ticket for it, and the proof
    # the right code gave (for this case, this visit: all gone at the wipe).
    case_code: str = ""
    case_ticket: str = ""
    case_proof: str = ""
    idle_left: int = 0
    still_there_left: int = 0
    resume_screen: Screen | None = None
    # "My transactions": the national ID and the code as typed, the gateway's ticket for
    # the code, and the list the code unlocked (all gone at the wipe).
    mine_id: str = ""
    mine_code: str = ""
    mine_ticket: str = ""
    mine: MineList | None = None
