"""CSV and XLSX downloads: a BOM for Excel, Arabic right to left, formulas neutralised."""

from __future__ import annotations

import csv
import io
import zipfile

import pytest

from gateway import exports
from gateway.exports import Table

TABLE = Table(name="by-agency", title="حسب الجهة", headings=("الجهة", "الوارد"),
              rows=(("وزارة الصحة", 12), ("=HYPERLINK(\"http://x\")", 3), ("-2+3", None),
                    ("@SUM(A1)", 1.5), ("+1", 0), ("\tcmd", 7), ("عادي - نص", 4)))


def test_csv_has_a_bom_and_reads_back():
    data = exports.to_csv(TABLE)
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows[0] == ["الجهة", "الوارد"]
    assert rows[1] == ["وزارة الصحة", "12"]
    assert rows[3] == ["'-2+3", ""]


@pytest.mark.parametrize("text", ["=1+1", "+1", "-1", "@A1", "\t=1", "\r=1"])
def test_every_formula_start_is_neutralised(text):
    assert exports.neutralised(text) == "'" + text
    assert exports.neutralised(5) == 5 and exports.neutralised("a=b") == "a=b"


def _sheet_xml(data: bytes, name: str = "xl/worksheets/sheet1.xml") -> str:
    with zipfile.ZipFile(io.BytesIO(data)) as book:
        return book.read(name).decode()


def test_xlsx_is_right_to_left_in_arabic_and_keeps_text_as_text():
    data = exports.to_xlsx([TABLE], "ar")
    sheet = _sheet_xml(data)
    assert 'rightToLeft="1"' in sheet
    assert "<f>" not in sheet  # no formula anywhere
    with zipfile.ZipFile(io.BytesIO(data)) as book:
        strings = book.read("xl/sharedStrings.xml").decode()
    assert "وزارة الصحة" in strings and "=HYPERLINK" in strings
    assert 'rightToLeft="1"' not in _sheet_xml(exports.to_xlsx([TABLE], "en"))


def test_xlsx_numbers_stay_numbers_and_sheet_names_are_unique():
    data = exports.to_xlsx([TABLE, TABLE], "en")
    assert "<v>12</v>" in _sheet_xml(data)
    with zipfile.ZipFile(io.BytesIO(data)) as book:
        workbook = book.read("xl/workbook.xml").decode()
    assert 'name="by-agency"' in workbook and 'name="by-agency-2"' in workbook


def test_an_empty_table_is_its_headings():
    empty = Table(name="x", title="x", headings=("a",), rows=())
    assert exports.to_csv(empty).decode("utf-8-sig") == "a\r\n"
    assert exports.to_xlsx([empty], "ar")[:2] == b"PK"
