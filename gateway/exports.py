"""Every table and list of the dashboards as a download: CSV and XLSX.

CSV starts with a UTF-8 byte order mark: without it Excel reads the file in the
machine's legacy code page and Arabic turns to question marks. XLSX is written by
XlsxWriter (pure Python, write-only, no other dependency, maintained since 2013): an
Arabic sheet is set right to left, the header row frozen and bold.

A spreadsheet runs a cell starting with ``=``, ``+``, ``-`` or ``@`` (and a tab or
carriage return before them) as a formula: a complaint's text or a subject typed by a
citizen must never become one (formula injection). Such text cells are written with a
leading apostrophe in CSV, and as plain strings (never formulas) in XLSX; numbers stay
numbers.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass

import xlsxwriter

BOM = "\ufeff"
CSV_TYPE = "text/csv; charset=utf-8"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_SAFE_NAME = re.compile(r"[^A-Za-z0-9_.-]+")

Cell = str | int | float | None


@dataclass(frozen=True)
class Table:
    """A table as the page shows it: its title, column headings and rows."""

    name: str  # the file's and the sheet's name (ASCII: a-z, digits, - and _)
    title: str
    headings: tuple[str, ...]
    rows: tuple[tuple[Cell, ...], ...]


def neutralised(value: Cell) -> Cell:
    """A text cell that a spreadsheet would run as a formula, made plain text."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def to_csv(table: Table) -> bytes:
    buffer = io.StringIO()
    buffer.write(BOM)
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([neutralised(h) for h in table.headings])
    for row in table.rows:
        writer.writerow(["" if cell is None else neutralised(cell) for cell in row])
    return buffer.getvalue().encode("utf-8")


def to_xlsx(tables: Sequence[Table], lang: str) -> bytes:
    """One sheet per table, right to left on Arabic pages."""
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True, "strings_to_formulas": False,
                                        "strings_to_urls": False,
                                        "strings_to_numbers": False})
    bold = book.add_format({"bold": True})
    used: set[str] = set()
    for table in tables:
        sheet = book.add_worksheet(_sheet_name(table.name, used))
        if lang == "ar":
            sheet.right_to_left()
        sheet.write_row(0, 0, [str(h) for h in table.headings], bold)
        for index, row in enumerate(table.rows, start=1):
            for column, cell in enumerate(row):
                if isinstance(cell, str):
                    sheet.write_string(index, column, cell)
                elif cell is not None:
                    sheet.write_number(index, column, cell)
        sheet.freeze_panes(1, 0)
        sheet.set_column(0, max(len(table.headings) - 1, 0), 18)
    book.close()
    return buffer.getvalue()


def _sheet_name(name: str, used: set[str]) -> str:
    """Excel's rules: at most 31 characters, none of []:*?/\\, unique in the book."""
    base = (_SAFE_NAME.sub("-", name) or "sheet")[:28]
    candidate, number = base, 2
    while candidate.lower() in used:
        candidate, number = f"{base}-{number}", number + 1
    used.add(candidate.lower())
    return candidate


def file_name(name: str, extension: str) -> str:
    return f"{_SAFE_NAME.sub('-', name) or 'table'}.{extension}"
