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
class ProbeGateway:
    """Ask the gateway whether it answers (a heartbeat)."""


@dataclass(frozen=True)
class Quit:
    """The technician chose to leave the kiosk app (exit status ``TECHNICIAN_EXIT``)."""


# The exit status of the technician's exit: systemd's RestartPreventExitStatus names it,
# so Restart=always does not bring the app straight back (EX_USAGE, unused otherwise).
TECHNICIAN_EXIT = 64


Effect = SendInquiry | PrintReceipt | ProbeGateway | Quit
