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


# Screens that hold something a citizen typed or was told: the idle timer watches them.
PRIVATE_SCREENS = frozenset({Screen.NUMBER, Screen.NATIONAL_ID, Screen.WAITING,
                             Screen.RESULT, Screen.RECEIPT, Screen.ERROR, Screen.PIN,
                             Screen.MAINTENANCE, Screen.RATE_LIMITED})


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
    idle_left: int = 0
    still_there_left: int = 0
    resume_screen: Screen | None = None
