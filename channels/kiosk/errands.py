"""Errands: the kiosk's work off the GUI thread, and its outcomes brought back to it.

Inquiries and heartbeats run on two network workers, receipts and printer queries on
the printer's own thread (a CUPS that hangs holds that thread, never the screen nor the
network's workers). Each outcome comes back through a queued Qt signal, is told to the
flow on the GUI thread, and the window draws the result and runs what follows.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol, cast

from PyQt6.QtCore import QObject, pyqtSignal

from channels.kiosk.client import GatewayClient, GatewayRefused, GatewayUnavailable, Heartbeat
from channels.kiosk.effects import (
    ActOnCase,
    AskCaseCode,
    AskMineCode,
    Effect,
    FileCase,
    LoadCatalogue,
    OpenMine,
    PrintCaseReceipt,
    PrintReceipt,
    SendInquiry,
    ViewCase,
    VoiceEffect,
)
from channels.kiosk.flow import Flow
from channels.kiosk.receipt import (
    PrinterError,
    QtReceiptPrinter,
    Receipt,
    case_receipt_for,
    receipt_for,
)
from channels.kiosk.settings import KioskConfig
from channels.kiosk.state import Reply

log = logging.getLogger("gateway.kiosk")


class Host(Protocol):
    """The window the errands run for, read afresh at each use (a test may swap its
    clock); the gateway's last answers are kept on it."""

    config: KioskConfig
    flow: Flow
    client: GatewayClient
    printer: QtReceiptPrinter
    clock: Callable[[], datetime]
    gateway_reachable: bool | None
    last_inquiry_at: datetime | None

    def render(self) -> None: ...

    def run(self, effects: list[Effect]) -> None: ...


class _Bridge(QObject):
    """Carries a worker thread's outcome to the GUI thread (a queued signal)."""

    done = pyqtSignal(str, object)


class Errands:
    def __init__(self, host: Host) -> None:
        self.host = host
        self.probing = False
        # A query of the printer's state is queued or running on the printing thread.
        self.asking_printer = False
        self._workers = ThreadPoolExecutor(max_workers=2, thread_name_prefix="kiosk-net")
        self.printing = ThreadPoolExecutor(max_workers=1, thread_name_prefix="kiosk-print")
        self._bridge = _Bridge()
        self._bridge.done.connect(self._on_done)

    def shutdown(self) -> None:
        self._workers.shutdown(wait=False, cancel_futures=True)
        self.printing.shutdown(wait=False, cancel_futures=True)

    # --- the gateway ---------------------------------------------------------------

    def inquire(self, effect: SendInquiry) -> None:
        self._in_background("inquiry", self.host.client.inquire, effect.number,
                            effect.national_id, effect.lang)

    def voice(self, effect: VoiceEffect) -> None:
        """A Citizen's Voice request (channels/kiosk/voice.py), its outcome told to
        ``flow.voice_answered`` (a failure to reach the gateway: ``voice_unreachable``)."""
        client = self.host.client
        if isinstance(effect, LoadCatalogue):
            self._in_background("voice", client.catalogue)
        elif isinstance(effect, FileCase):
            self._in_background("voice", client.file_case, effect.case_type, effect.agency,
                                effect.category, effect.text, effect.mobile, effect.lang,
                                effect.key)
        elif isinstance(effect, ViewCase):
            self._in_background("voice", client.view_case, effect.tracking, effect.mobile,
                                effect.lang)
        elif isinstance(effect, AskMineCode):
            self._in_background("voice", client.ask_mine_code, effect.national_id,
                                effect.lang)
        elif isinstance(effect, OpenMine):
            self._in_background("voice", client.open_mine, effect.ticket, effect.code,
                                effect.lang)
        elif isinstance(effect, AskCaseCode):
            self._in_background("voice", client.ask_case_code, effect.tracking,
                                effect.mobile, effect.lang)
        elif isinstance(effect, ActOnCase):
            self._in_background("voice", functools.partial(
                client.act_on_case, ticket=effect.ticket, code=effect.code,
                proof=effect.proof), effect.tracking, effect.action, effect.lang,
                effect.key, effect.text, effect.rating)

    def _in_background(self, kind: str, call: Callable[..., object], *args: Any) -> None:
        def work() -> None:
            try:
                outcome: object = call(*args)
            except (GatewayUnavailable, GatewayRefused) as exc:
                outcome = exc
            except Exception as exc:  # a bug must not leave the screen waiting forever
                log.exception("kiosk %s failed", kind)
                outcome = GatewayUnavailable(str(exc))
            self._bridge.done.emit(kind, outcome)

        self._workers.submit(work)

    def probe(self) -> None:
        """Heartbeat: tells the gateway we live, and us whether it answers. It carries the
        printer's last known state and never waits on CUPS (which can hang): the state
        is asked anew on the printing thread, for the next heartbeat."""
        if self.probing:
            return
        self.probing = True
        host = self.host
        beat = Heartbeat(kiosk_id=host.config.kiosk_id, version=host.config.version,
                         last_inquiry_at=host.last_inquiry_at,
                         printer=host.printer.last_state,
                         pin_failures=host.flow.pin_failures)
        self._in_background("probe", host.client.heartbeat, beat)
        self.ask_printer()

    def _on_done(self, kind: str, outcome: Any) -> None:
        if kind == "print":
            self._printed(*outcome)
            return
        if kind == "printer":  # the maintenance screen shows it
            self.asking_printer = False
            self.host.render()
            return
        host, flow = self.host, self.host.flow
        now = host.clock()
        if kind == "probe":
            self.probing = False
        if kind == "voice" and isinstance(outcome, GatewayUnavailable):
            log.warning("gateway not reachable (Citizen's Voice): %s", outcome)
            host.gateway_reachable = False
            effects = flow.voice_unreachable()
        elif isinstance(outcome, GatewayUnavailable):
            log.warning("gateway not reachable (%s): %s", kind, outcome)
            host.gateway_reachable = False
            effects = flow.unreachable()
        elif isinstance(outcome, GatewayRefused):
            log.error("gateway refused the kiosk (%s): %s", kind, outcome)
            host.gateway_reachable = True
            # A refused heartbeat, token or redirect is about the kiosk, not one request:
            # out of service until a heartbeat succeeds.
            sticky = (kind == "probe" or outcome.status in (401, 403)
                      or 300 <= outcome.status < 400)
            effects = flow.refused(outcome.code, sticky=sticky)
        else:
            host.gateway_reachable = True
            if kind == "inquiry" and isinstance(outcome, Reply):
                host.last_inquiry_at = now
                effects = flow.answered(outcome, now)
            elif kind == "voice":
                effects = flow.voice_answered(outcome, now)
            else:
                effects = flow.reached(now)
        host.render()
        host.run(effects)

    # --- the printer ---------------------------------------------------------------

    def ask_printer(self) -> None:
        """Ask CUPS for the queue's state on the printing thread, after any job before it
        (QPrinterInfo is never asked from two threads at once). One query at a time: a
        hung CUPS does not pile them up."""
        if self.asking_printer:
            return
        self.asking_printer = True

        def work() -> None:
            try:
                self.host.printer.state()
            except Exception:  # a bug: the state stays as last known, the kiosk goes on
                log.exception("kiosk printer state failed")
            self._bridge.done.emit("printer", None)

        self.printing.submit(work)

    def print(self, effect: PrintReceipt | PrintCaseReceipt) -> None:
        """Print on the printer's own thread. A job whose citizen's screen was wiped
        while it waited its turn is dropped there, never printed."""
        host = self.host
        now = host.clock().astimezone(host.config.tz)
        receipt: Receipt
        if isinstance(effect, PrintCaseReceipt):
            receipt = case_receipt_for(effect.tracking, effect.case_type, effect.agency,
                                       effect.lang, host.config.kiosk_id, now)
        else:
            receipt = receipt_for(effect.reply, effect.lang, host.config.kiosk_id, now)
        session = effect.session

        def work() -> None:
            # Read across threads: the GUI thread bumps the int, this one only reads it.
            if not host.flow.current(session):
                log.info("receipt dropped: the screen was wiped before its turn")
                return
            try:
                outcome: object = host.printer.print(receipt)
            except PrinterError as exc:
                outcome = exc
            except Exception as exc:  # a bug must not leave the screen waiting forever
                log.exception("kiosk receipt failed")
                outcome = PrinterError(str(exc))
            self._bridge.done.emit("print", (session, outcome))

        self.printing.submit(work)

    def _printed(self, session: int, outcome: object) -> None:
        host = self.host
        problem = ""
        if isinstance(outcome, PrinterError):
            log.warning("receipt not printed: %s", outcome)
            problem = "printer_problem"
        elif outcome is not None:  # a test-mode PDF
            pdf = cast(Path, outcome)
            if not host.flow.current(session):  # wiped while it was written
                pdf.unlink(missing_ok=True)
            else:
                host.printer.keep(pdf)
        # Told only to the citizen who asked (flow.printed ignores another session's).
        host.flow.printed(session, problem)
        self.ask_printer()  # the job may have found the queue stopped
        host.render()
