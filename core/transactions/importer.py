"""Bulk import of transactions from the records system's CSV export.

The file is UTF-8 (a BOM is fine), comma-separated, with a header row naming the columns
in any order:

- required: ``number``, ``registered_at``, ``subject``, ``applicant_name``;
- applicant: ``national_id``, ``mobile``, ``email``, ``lang`` (``ar`` or ``en``);
- where it stands (each filled group adds one lifecycle event after ``registered``):
  ``department`` and ``referred_at`` (referred; the time defaults to ``registered_at``),
  ``outgoing_number``, ``destination_agency``, ``issued_at``, ``reply_expected``
  (issued), ``reply_received_at`` (reply received), ``closed_at`` (closed).

Times are ISO 8601; a date alone is midnight and a time with no offset is local time
(``locale.timezone``). Each row becomes the same event payloads the API takes, checked
by ``parse_event`` and applied by ``lifecycle.apply_event``: one set of rules. Event ids
come from the row (``import:<number>:<type>``), so importing a file again changes nothing
and counts its rows as already present.

Each row is applied in its own savepoint inside batches of ``BATCH_ROWS`` rows per
database transaction: a bad row is rejected whole and never stops the import. This module
reads the file and loads it; a row becomes its payloads in ``import_rows``.
"""

from __future__ import annotations

import csv
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from tqdm import tqdm

from core.identity.digits import normalize_digits
from core.identity.national_id import mask_national_id
from core.platform.db import Database
from core.platform.errors import CoreError, InvalidRequest
from core.platform.settings import CoreSettings
from core.transactions import lifecycle
from core.transactions.events import parse_event
from core.transactions.import_rows import Planned, Rejected, inert_cell, plan_row, read_cell

REQUIRED_COLUMNS = ("number", "registered_at", "subject", "applicant_name")
OPTIONAL_COLUMNS = (
    "national_id", "mobile", "email", "lang",
    "department", "referred_at",
    "outgoing_number", "destination_agency", "issued_at", "reply_expected",
    "reply_received_at", "closed_at",
)
# The column the --errors file adds: a corrected errors file imports as it is.
REASON_COLUMN = "reason"
BATCH_ROWS = 500

# Where a field of the event payload came from in the file, to name it in the reason.
_COLUMN_OF_FIELD = {
    "transaction.number": "number",
    "transaction.subject": "subject",
    "transaction.applicant": "applicant_name",
    "transaction.applicant.name": "applicant_name",
    "transaction.applicant.national_id": "national_id",
    "transaction.applicant.mobile": "mobile",
    "transaction.applicant.email": "email",
    "transaction.applicant.lang": "lang",
}


@dataclass(frozen=True)
class RowError:
    """A rejected row: where it is in the file, its number, and why."""

    line: int
    number: str
    reason: str
    values: tuple[str, ...] = field(default=(), repr=False, compare=False)

    def __str__(self) -> str:
        return f"line {self.line} (number {self.number or '-'}): {self.reason}"


@dataclass
class ImportReport:
    rows: int = 0
    imported: int = 0
    already_present: int = 0
    # Outbox rows written (only with notify=True).
    notifications: int = 0
    notify: bool = False
    seconds: float = 0.0
    errors_path: Path | None = None
    errors: list[RowError] = field(default_factory=list)

    @property
    def rejected(self) -> int:
        return len(self.errors)

    def summary(self) -> str:
        lines = [f"{self.rows} rows: {self.imported} imported, {self.already_present} "
                 f"already present, {self.rejected} rejected ({self.seconds:.1f} s)"]
        if self.notify:
            lines.append(f"{self.notifications} notifications queued for sending")
        else:
            lines.append("no notifications written (--no-notify)")
        if self.errors_path is not None and self.rejected:
            lines.append(f"rejected rows and their reasons: {self.errors_path}")
        elif self.errors_path is not None:
            lines.append("no rows rejected; no errors file written")
        return "\n".join(lines)


class ImportTarget(Protocol):
    """What an import needs of ``core.service.Core``, which sits a layer above."""

    @property
    def db(self) -> Database: ...
    @property
    def config(self) -> CoreSettings: ...


def import_file(core: ImportTarget, path: str | Path, *, notify: bool = False,
                errors_path: str | Path | None = None, progress: bool = False
                ) -> ImportReport:
    """Import every row of ``path``; raise InvalidRequest if the file itself is unusable.

    With ``notify=False`` the outbox rows the events cause are removed in the row's own
    savepoint, so no citizen or employee is messaged about old transactions.
    """
    started = time.perf_counter()
    path = Path(path)
    header, total = _check_file(path)
    report = ImportReport(notify=notify,
                          errors_path=Path(errors_path) if errors_path else None)
    if report.errors_path is not None:
        _check_errors_folder(report.errors_path)
    bar = tqdm(total=total, unit="row", desc="import", file=sys.stderr,
               disable=not progress, dynamic_ncols=True)
    try:
        batch: list[tuple[int, list[str]]] = []
        for line, values in _records(path):
            batch.append((line, values))
            if len(batch) >= BATCH_ROWS:
                _import_batch(core, header, batch, notify, report)
                bar.update(len(batch))
                batch = []
        if batch:
            _import_batch(core, header, batch, notify, report)
            bar.update(len(batch))
    finally:
        bar.close()
    if report.errors_path is not None and report.errors:
        _write_errors(report.errors_path, path, report.errors)
    report.seconds = time.perf_counter() - started
    return report


# --- the file -------------------------------------------------------------------------


def _column_name(text: str) -> str:
    return text.strip().lower().replace(" ", "_")


def _check_file(path: Path) -> tuple[list[str], int]:
    """Read the whole file once: the header must name the columns; count the rows.

    Everything that makes the file unusable (not UTF-8, not CSV, missing columns) is
    found here, before anything is imported.
    """
    rows = 0
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.reader(handle)
            try:
                raw_header = next(reader, None)
                if raw_header is None:
                    raise InvalidRequest(f"{path} is empty: the first line must name the "
                                         f"columns", code="bad_file")
                header = [_column_name(name) for name in raw_header]
                _check_header(path, raw_header, header)
                for row in reader:
                    if any(cell.strip() for cell in row):
                        rows += 1
            except csv.Error as exc:
                raise InvalidRequest(f"{path}, line {reader.line_num}: not valid CSV ({exc})",
                                     code="bad_file") from exc
    except UnicodeDecodeError as exc:
        raise InvalidRequest(f"{path} is not UTF-8 text (byte {exc.start}); export it as "
                             f"CSV UTF-8", code="bad_file") from exc
    return header, rows


def _check_header(path: Path, raw_header: list[str], header: list[str]) -> None:
    known = set(REQUIRED_COLUMNS) | set(OPTIONAL_COLUMNS) | {REASON_COLUMN}
    missing = [name for name in REQUIRED_COLUMNS if name not in header]
    unknown = [raw.strip() for raw, name in zip(raw_header, header, strict=True)
               if name not in known]
    doubled = sorted({name for name in header if header.count(name) > 1})
    problems = []
    if missing:
        problems.append(f"missing column(s): {', '.join(missing)}")
    if unknown:
        problems.append(f"unknown column(s): {', '.join(unknown)}")
    if doubled:
        problems.append(f"column(s) given twice: {', '.join(doubled)}")
    if not problems:
        return
    hint = ""
    if len(raw_header) == 1 and any(sep in raw_header[0] for sep in ";\t"):
        hint = " (the file must be comma-separated)"
    raise InvalidRequest(
        f"{path}: {'; '.join(problems)}{hint}. Required: {', '.join(REQUIRED_COLUMNS)}; "
        f"optional: {', '.join(OPTIONAL_COLUMNS)}. Nothing was imported.", code="bad_file")


def _records(path: Path) -> Iterator[tuple[int, list[str]]]:
    """The data rows with the line each starts on; blank rows are skipped."""
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.reader(handle)
        next(reader)
        end = reader.line_num
        for row in reader:
            start, end = end + 1, reader.line_num
            if any(cell.strip() for cell in row):
                yield start, row


def _check_errors_folder(target: Path) -> None:
    """The errors file goes into a folder that exists: one is never created (a typo, or
    a path that as root could be anywhere), and the refusal comes before the import."""
    if not target.parent.is_dir():
        raise InvalidRequest(f"the folder of the errors file {target} does not exist: "
                             f"create it or choose another. Nothing was imported.",
                             code="bad_errors_path")


def _write_errors(target: Path, source: Path, errors: list[RowError]) -> None:
    """The rejected rows and their reasons, for staff to correct and import again.

    Readable by its owner alone (0600, from its creation: a temporary file in the same
    folder, then renamed over ``target``, so a link planted at ``target`` is replaced,
    never followed). The national ID keeps its last two digits (IDs are never stored in
    full); a cell a spreadsheet would run as a formula starts with a single quote.
    """
    with source.open(encoding="utf-8-sig", newline="") as handle:
        raw_header = next(csv.reader(handle))
    header = [_column_name(name) for name in raw_header]
    keep = [i for i, name in enumerate(header) if name != REASON_COLUMN]
    masked = {i for i, name in enumerate(header) if name == "national_id"}
    descriptor, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.",
                                             suffix=".tmp")
    try:
        # utf-8-sig: spreadsheet programs then show the Arabic text as Arabic.
        with os.fdopen(descriptor, "w", encoding="utf-8-sig", newline="") as out:
            writer = csv.writer(out)
            writer.writerow([inert_cell(raw_header[i]) for i in keep] + [REASON_COLUMN])
            for error in errors:
                values = list(error.values) + [""] * (len(header) - len(error.values))
                cells = [mask_national_id(values[i]) if i in masked and values[i].strip()
                         else values[i] for i in keep]
                writer.writerow([inert_cell(cell) for cell in [*cells, error.reason]])
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


# --- one batch, one row -----------------------------------------------------------------


def _import_batch(core: ImportTarget, header: list[str], batch: list[tuple[int, list[str]]],
                  notify: bool, report: ImportReport) -> None:
    with core.db.write.begin() as session:
        for line, values in batch:
            report.rows += 1
            number = ""
            try:
                if len(values) != len(header):
                    raise Rejected(f"has {len(values)} fields, the header has {len(header)}")
                row = {name: read_cell(value)
                       for name, value in zip(header, values, strict=True)}
                number = normalize_digits(row["number"])
                planned = plan_row(row, core.config.tz)
                new, notes = _apply_row(session, planned, core.config, notify)
            except Rejected as exc:
                report.errors.append(RowError(line, number, exc.reason, tuple(values)))
                continue
            if new:
                report.imported += 1
                report.notifications += notes
            else:
                report.already_present += 1


def _apply_row(session: Session, planned: list[Planned], config: CoreSettings,
               notify: bool) -> tuple[bool, int]:
    """Apply a row's events in one savepoint; (any new event?, outbox rows kept)."""
    for attempt in (1, 2):
        try:
            with session.begin_nested():
                return _apply_events(session, planned, config, notify)
        except IntegrityError:
            # A concurrent writer registered the same number first: the second pass
            # sees it as present or as a conflict.
            if attempt == 2:
                raise Rejected("a concurrent write conflicted; import the file again") \
                    from None
    raise AssertionError("the loop returns or raises")


def _apply_events(session: Session, planned: list[Planned], config: CoreSettings,
                  notify: bool) -> tuple[bool, int]:
    new = False
    notes = 0
    for item in planned:
        payload = item.payload
        try:
            event = parse_event(payload)
            outcome = lifecycle.apply_event(session, event, payload, config, notify=notify)
        except CoreError as exc:
            if exc.code == "already_registered":
                # Registered by other means (the API): present, and the file's later
                # events would only contradict the history the records system sent.
                return False, 0
            raise Rejected(_reason(exc, payload, item.time_column)) from exc
        if outcome.duplicate:
            continue
        new = True
        notes += outcome.notifications
    return new, notes


def _reason(exc: CoreError, payload: dict[str, Any], time_column: str) -> str:
    """The core's message, naming the file's column rather than the payload's field."""
    message = exc.message.replace("Value error, ", "")
    if exc.code == "event_id_reused":
        number = payload["transaction"]["number"]
        return (f"transaction {number} was already imported with other details "
                f"(or appears twice in the file)")
    if not exc.field:
        return message
    if exc.field == "occurred_at":
        return message.replace("occurred_at", time_column)
    column = _COLUMN_OF_FIELD.get(exc.field, exc.field)
    if message.startswith(f"{exc.field}: "):
        return f"{column}: {message[len(exc.field) + 2:]}"
    if column != exc.field:
        return f"{column}: {message}"
    return message
