"""The 80 mm receipt: what it says (a pure function) and the printers that put it on paper.

``receipt_for`` decides the content: status, transaction number, today's date in Hijri
with the Gregorian beside it, and a reference made of the kiosk id and the time, never
the national ID. ``QtReceiptPrinter`` prints it silently with ``QPrinter`` to the
configured CUPS printer. With no printer, receipts exist only in test/demo mode
(``kiosk.pdf_dir`` set): PDF files there, deleted at the next wipe of the screen, since
a public terminal must not keep what it told a citizen. With neither, nothing is
offered. No document or file name carries the transaction number. Qt's printing
failures become ``PrinterError`` here.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from channels.kiosk.state import Reply
from channels.kiosk.texts import shown_digits, texts
from channels.kiosk.voice_texts import voice_texts
from core.calendar.dates import format_date

RECEIPT_WIDTH_MM = 80
RECEIPT_HEIGHT_MM = 150
MARGIN_MM = 4
RECEIPT_POINT_SIZE = 9
HEADLINE_POINT_SIZE = 20  # a tracking number: ten digits across the 72 mm


class PrinterError(Exception):
    """The receipt was not printed; the message is for the maintenance screen and logs."""


@dataclass(frozen=True)
class Receipt:
    lang: str
    title: str
    lines: tuple[tuple[str, str], ...]
    text: str
    reference_label: str
    reference: str
    number: str
    # Printed large under the title, left to right (a case's tracking number).
    headline: str = ""


def receipt_for(reply: Reply, lang: str, kiosk_id: str, now: datetime) -> Receipt:
    """The receipt of one answer, in the language it was shown in, with its digits as the
    screen wrote them (the reference, a code to quote, stays ASCII)."""
    t = texts(lang)
    reference = f"{kiosk_id}-{now:%Y%m%d-%H%M%S}"
    lines = (
        (t["receipt_number"], shown_digits(reply.number, lang)),
        (t["receipt_status"], reply.status_text),
        (t["receipt_date"], shown_digits(format_date(now.date(), lang), lang)),
    )
    return Receipt(lang=lang, title=t["receipt_title"], lines=lines,
                   text=shown_digits(reply.text, lang),
                   reference_label=t["receipt_reference"], reference=reference,
                   number=reply.number)


def case_receipt_for(tracking: str, case_type: str, agency: str, lang: str, kiosk_id: str,
                     now: datetime) -> Receipt:
    """The receipt of a case filed at the kiosk: its tracking number first (what the
    citizen follows it with), the type, the agency, the date and how to follow it."""
    t = texts(lang)
    v = voice_texts(lang)
    lines = [(v["receipt_tracking"], shown_digits(tracking, lang)),
             (v["type_label"], v.get(case_type, case_type))]
    lines.append((v["agency_label"], agency or v["emirate_routes"]))
    lines.append((t["receipt_date"], shown_digits(format_date(now.date(), lang), lang)))
    return Receipt(lang=lang, title=v["case_receipt_title"], lines=tuple(lines),
                   text=shown_digits(v["filed_body"], lang), reference_label=t["receipt_reference"],
                   reference=f"{kiosk_id}-{now:%Y%m%d-%H%M%S}", number=tracking,
                   headline=shown_digits(tracking, lang))


def reference_point_size(reference: str) -> float:
    """The reference's size: 9 pt, smaller for a long kiosk id, so it fits on one line
    of the 72 mm between the margins (Noto Sans: 0.55 em a character on average)."""
    width_pt = (RECEIPT_WIDTH_MM - 2 * MARGIN_MM) / 25.4 * 72
    return round(min(RECEIPT_POINT_SIZE, width_pt * 0.95 / (0.55 * max(len(reference), 1))), 1)


def receipt_html(receipt: Receipt) -> str:
    direction = "rtl" if receipt.lang == "ar" else "ltr"
    side = "right" if receipt.lang == "ar" else "left"
    rows = "".join(f"<tr><td><b>{html.escape(label)}</b></td><td>{html.escape(value)}</td></tr>"
                   for label, value in receipt.lines)
    # On its own row, unwrapped, left to right even on an Arabic receipt (in a
    # right-to-left run "hall-1-2026..." would come out as "-1-2026...hall").
    reference = (f'<p dir="ltr" align="{side}" style="white-space:nowrap;'
                 f' font-size:{reference_point_size(receipt.reference)}pt">'
                 f"\u202a{html.escape(receipt.reference)}\u202c</p>")
    headline = (f'<p dir="ltr" align="center" style="font-size:{HEADLINE_POINT_SIZE}pt;'
                f' white-space:nowrap"><b>{html.escape(receipt.headline)}</b></p>'
                if receipt.headline else "")
    return (f'<div dir="{direction}" style="font-size:{RECEIPT_POINT_SIZE}pt">'
            f'<h3 align="center">{html.escape(receipt.title)}</h3>{headline}'
            f'<table width="100%" cellpadding="2">{rows}</table>'
            f"<p><b>{html.escape(receipt.reference_label)}</b></p>{reference}"
            f"<p>{html.escape(receipt.text)}</p></div>")


def queue_state(printer_name: str, state) -> str:
    """One line for a CUPS queue's state (``QPrinter.PrinterState`` from
    ``QPrinterInfo.state()``). Qt reports a stopped queue (CUPS stops one on paper out,
    a jam or an offline printer) as ``Error``; why it stopped is not in Qt's API."""
    from PyQt6.QtPrintSupport import QPrinter

    words = {QPrinter.PrinterState.Idle: "ready",
             QPrinter.PrinterState.Active: "printing",
             QPrinter.PrinterState.Aborted: "aborted",
             QPrinter.PrinterState.Error: "stopped"}
    word = words.get(state, "unknown")
    if word == "stopped":
        return f"stopped: {printer_name} (paper out, a jam or the queue paused)"[:200]
    return f"{word}: {printer_name}"[:200]


def queue_usable(state) -> bool:
    """Whether a job sent now would print (not to a stopped or aborted queue)."""
    from PyQt6.QtPrintSupport import QPrinter

    return state in (QPrinter.PrinterState.Idle, QPrinter.PrinterState.Active)


class QtReceiptPrinter:
    """Prints receipts with QPrinter, silently; to PDF files (test mode) when
    ``printer_name`` is empty and ``pdf_dir`` is given.

    ``print`` and ``state`` may block as long as CUPS does, so the window calls both on
    its one printing thread, one after the other (Qt allows QPainter on a QPrinter and
    QTextDocument outside the GUI thread; QPrinterInfo is never asked from two threads
    at once); ``last_state``, what ``state`` found last, is what the other threads read.
    ``keep`` and ``discard``, the test-mode files' bookkeeping, stay on the GUI thread.
    """

    def __init__(self, printer_name: str, pdf_dir: Path | None,
                 font_families: tuple[str, ...] = ()) -> None:
        self.printer_name = printer_name
        self.pdf_dir = pdf_dir
        self.font_families = font_families
        self.last_problem = ""
        # Known without asking CUPS when there is no printer; with one, "unknown" until
        # the printing thread has asked.
        self.last_state = "unknown" if printer_name else self._state()
        self.last_pdf: Path | None = None
        self._written: list[Path] = []
        if self.test_mode:
            # Left behind by a crash or a power cut: nobody is there to take them.
            self._written = sorted(pdf_dir.glob("receipt-*.pdf"))  # type: ignore[union-attr]
            self.discard()

    @property
    def test_mode(self) -> bool:
        return not self.printer_name and self.pdf_dir is not None

    @property
    def available(self) -> bool:
        """Whether a print button makes sense at all."""
        return bool(self.printer_name) or self.test_mode

    def keep(self, path: Path) -> None:
        """A test-mode PDF just written: deleted at the next ``discard``."""
        self._written.append(path)

    def discard(self) -> None:
        """Delete the test-mode PDFs written so far (called when the screen is wiped)."""
        while self._written:
            self._written.pop().unlink(missing_ok=True)

    def state(self) -> str:
        """One line for heartbeats and the maintenance screen (kept as ``last_state``).
        A failure to ask is itself the state ("error: ..."), never an exception."""
        try:
            self.last_state = self._state()
        except Exception as exc:  # Qt or CUPS failing is a printer problem, told as one
            self.last_state = f"error: cannot ask for the printer's state: {exc}"[:200]
        return self.last_state

    def _state(self) -> str:
        if self.last_problem:
            return f"error: {self.last_problem}"[:200]
        if self.test_mode:
            return f"pdf (test mode): {self.pdf_dir}"[:200]
        if not self.printer_name:
            return "none"
        from PyQt6.QtPrintSupport import QPrinterInfo

        info = QPrinterInfo.printerInfo(self.printer_name)
        if info.isNull():
            return f"missing: {self.printer_name}"[:200]
        return queue_state(self.printer_name, info.state())

    def print(self, receipt: Receipt) -> Path | None:
        """Print ``receipt``; the PDF written in test mode (for ``keep``), else None."""
        try:
            path = self._print(receipt)
        except PrinterError as exc:
            self.last_problem = str(exc)
            raise
        self.last_problem = ""
        return path

    def _print(self, receipt: Receipt) -> Path | None:
        from PyQt6.QtCore import QMarginsF, QSizeF
        from PyQt6.QtGui import QPageLayout, QPageSize
        from PyQt6.QtPrintSupport import QPrinter, QPrinterInfo

        printer = QPrinter(QPrinter.PrinterMode.HighResolution)
        # Print queues and spool logs keep document names: never the transaction number.
        printer.setDocName(f"receipt {receipt.reference}")
        path = None
        if self.printer_name:
            info = QPrinterInfo.printerInfo(self.printer_name)
            if info.isNull():
                raise PrinterError(f"printer {self.printer_name!r} is not available")
            if not queue_usable(info.state()):
                # A job sent to a stopped queue waits there: the citizen would be told
                # to take a receipt that never comes.
                raise PrinterError(queue_state(self.printer_name, info.state()))
            printer.setPrinterName(self.printer_name)
        elif self.pdf_dir is None:
            raise PrinterError("no printer is configured")
        else:
            try:
                self.pdf_dir.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise PrinterError(f"cannot write to {self.pdf_dir}: {exc}") from exc
            path = self.pdf_dir / f"receipt-{receipt.reference}.pdf"
            printer.setOutputFormat(QPrinter.OutputFormat.PdfFormat)
            printer.setOutputFileName(str(path))
            self.last_pdf = path
        printer.setPageSize(QPageSize(QSizeF(RECEIPT_WIDTH_MM, RECEIPT_HEIGHT_MM),
                                      QPageSize.Unit.Millimeter, "receipt80"))
        printer.setPageMargins(QMarginsF(MARGIN_MM, MARGIN_MM, MARGIN_MM, MARGIN_MM),
                               QPageLayout.Unit.Millimeter)
        try:
            self._paint(printer, receipt)
        except PrinterError:
            if path is not None:  # half a receipt: nobody will take it
                path.unlink(missing_ok=True)
            raise
        return path

    def _paint(self, printer, receipt: Receipt) -> None:
        from PyQt6.QtCore import QSizeF
        from PyQt6.QtGui import QFont, QPainter, QTextDocument
        from PyQt6.QtPrintSupport import QPrinter

        painter = QPainter()
        if not painter.begin(printer):
            raise PrinterError("the printer did not accept the job")
        try:
            # Laid out for the printer's resolution, on one page the receipt's width.
            document = QTextDocument()
            document.documentLayout().setPaintDevice(printer)
            if self.font_families:
                font = QFont()
                font.setFamilies(list(self.font_families))
                font.setPointSize(RECEIPT_POINT_SIZE)
                document.setDefaultFont(font)
            document.setHtml(receipt_html(receipt))
            page = printer.pageLayout().paintRectPixels(printer.resolution())
            document.setPageSize(QSizeF(page.width(), page.height()))
            document.drawContents(painter)
        finally:
            painter.end()
        if printer.printerState() in (QPrinter.PrinterState.Error,
                                      QPrinter.PrinterState.Aborted):
            raise PrinterError("the printer reported an error")
