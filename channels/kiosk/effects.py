"""The flow's effects: what must leave the process (an inquiry, a receipt to print, a
probe of the gateway, quitting), carried out by the Qt layer (channels/kiosk/window.py).
"""

from __future__ import annotations

from dataclasses import dataclass

from channels.kiosk.state import Reply


@dataclass(frozen=True)
class SendInquiry:
    number: str
    national_id: str
    lang: str


@dataclass(frozen=True)
class PrintReceipt:
    """Print this answer's receipt. ``session`` is the citizen's (``Flow.session``): a job
    still queued when that citizen's screen is wiped is dropped, its outcome ignored."""

    reply: Reply
    lang: str
    session: int


@dataclass(frozen=True)
class LoadCatalogue:
    """Ask the gateway for the agencies and categories (Citizen's Voice)."""


@dataclass(frozen=True)
class FileCase:
    """File the citizen's case; ``key`` is the attempt's Idempotency-Key."""

    case_type: str
    agency: str
    category: str
    text: str
    mobile: str
    lang: str
    key: str


@dataclass(frozen=True)
class ViewCase:
    tracking: str
    mobile: str
    lang: str


@dataclass(frozen=True)
class AskCaseCode:
    """Ask for a code to the followed case's own mobile (to act on it): the gateway looks
    the pair up again and sends the SMS."""

    tracking: str
    mobile: str
    lang: str


@dataclass(frozen=True)
class ActOnCase:
    """The citizen's reply, rating or reopening, once per ``key``, proved by the
    ``proof`` of a code typed earlier in this visit, or by the ``ticket`` and the typed
    ``code``."""

    tracking: str
    action: str
    lang: str
    key: str
    text: str | None = None
    rating: int | None = None
    ticket: str = ""
    code: str = ""
    proof: str = ""


@dataclass(frozen=True)
class PrintCaseReceipt:
    """Print the receipt of a case just filed (its tracking number), for ``session``."""

    tracking: str
    case_type: str
    agency: str
    lang: str
    session: int


@dataclass(frozen=True)
class AskMineCode:
    """"My transactions": ask for a code for this national ID."""

    national_id: str
    lang: str


@dataclass(frozen=True)
class OpenMine:
    """"My transactions": the typed code for ``ticket``, then the list it unlocks."""

    ticket: str
    code: str
    lang: str


@dataclass(frozen=True)
class ProbeGateway:
    """Ask the gateway whether it answers (a heartbeat)."""


@dataclass(frozen=True)
class Quit:
    """The technician chose to leave the kiosk app (exit status ``TECHNICIAN_EXIT``)."""


# The exit status of the technician's exit: systemd's RestartPreventExitStatus names it,
# so Restart=always does not bring the app straight back (EX_USAGE, unused otherwise).
TECHNICIAN_EXIT = 64


VoiceEffect = (LoadCatalogue | FileCase | ViewCase | AskCaseCode | ActOnCase | AskMineCode
               | OpenMine)

Effect = (SendInquiry | PrintReceipt | ProbeGateway | Quit | VoiceEffect
          | PrintCaseReceipt)
