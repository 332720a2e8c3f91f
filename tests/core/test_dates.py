"""Tests for core.dates (expected Hijri values computed once with hijridate)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from core.calendar.dates import (
    RIYADH,
    format_date,
    format_date_long,
    format_hijri,
    hijri_date,
    local_date,
)

# (Gregorian, Umm al-Qura Hijri)
KNOWN_DATES = [
    (date(2026, 2, 18), (1447, 9, 1)),  # 1 Ramadan 1447 (Umm al-Qura anchor)
    (date(2026, 2, 17), (1447, 8, 29)),
    (date(2026, 3, 20), (1447, 10, 1)),  # 1 Shawwal 1447
    (date(2025, 6, 26), (1447, 1, 1)),  # 1 Muharram 1447
    (date(2025, 11, 23), (1447, 6, 2)),
    (date(2024, 3, 11), (1445, 9, 1)),  # 1 Ramadan 1445
    (date(2023, 6, 28), (1444, 12, 10)),  # Eid al-Adha 1444
    (date(2000, 1, 1), (1420, 9, 24)),
    (date(1924, 8, 1), (1343, 1, 1)),  # first supported day
    (date(2077, 11, 16), (1500, 12, 30)),  # last supported day
]


@pytest.mark.parametrize(("gregorian", "hijri"), KNOWN_DATES)
def test_gregorian_converts_to_umm_al_qura(gregorian: date, hijri: tuple[int, int, int]) -> None:
    assert hijri_date(gregorian) == hijri


def test_datetime_is_accepted_as_date() -> None:
    assert hijri_date(datetime(2026, 2, 18, 23, 59)) == (1447, 9, 1)


@pytest.mark.parametrize(
    "d",
    [date(1900, 1, 1), date(1924, 7, 31), date(2077, 11, 17), date(2100, 1, 1), date.min],
)
def test_dates_outside_hijri_range_do_not_raise(d: date) -> None:
    assert hijri_date(d) is None
    assert format_hijri(d) == ""
    assert format_date(d, "ar")
    assert format_date(d, "en")
    assert format_date_long(d, "ar")
    assert format_date_long(d, "en")


@pytest.mark.parametrize(
    ("moment", "tz", "expected"),
    [
        # 21:30 UTC is already the next day in Riyadh (UTC+3).
        (datetime(2025, 11, 22, 21, 30, tzinfo=UTC), RIYADH, date(2025, 11, 23)),
        (datetime(2025, 11, 22, 20, 59, tzinfo=UTC), RIYADH, date(2025, 11, 22)),
        (datetime(2025, 11, 22, 21, 0), RIYADH, date(2025, 11, 23)),  # naive = UTC
        (datetime(2025, 11, 22, 21, 30, tzinfo=UTC), ZoneInfo("UTC"), date(2025, 11, 22)),
        (
            datetime(2025, 11, 23, 2, 0, tzinfo=UTC),
            ZoneInfo("America/New_York"),
            date(2025, 11, 22),
        ),
    ],
)
def test_local_date_uses_given_timezone(moment: datetime, tz: ZoneInfo, expected: date) -> None:
    assert local_date(moment, tz) == expected


def test_local_date_defaults_to_riyadh() -> None:
    assert local_date(datetime(2025, 11, 22, 21, 0, tzinfo=UTC)) == date(2025, 11, 23)


@pytest.mark.parametrize(
    ("d", "expected"),
    [
        (date(2025, 11, 23), "1447/06/02"),
        (date(2026, 2, 18), "1447/09/01"),
        (date(2000, 1, 1), "1420/09/24"),
    ],
)
def test_hijri_is_zero_padded(d: date, expected: str) -> None:
    assert format_hijri(d) == expected


@pytest.mark.parametrize(
    ("d", "lang", "expected"),
    [
        # Arabic
        (date(2025, 11, 23), "ar", "1447/06/02هـ (2025/11/23م)"),
        (date(2026, 2, 18), "ar", "1447/09/01هـ (2026/02/18م)"),
        (date(2026, 2, 18), "ar-SA", "1447/09/01هـ (2026/02/18م)"),
        (date(2100, 1, 1), "ar", "2100/01/01م"),
        # English
        (date(2025, 11, 23), "en", "2 Jumada al-Akhirah 1447 AH (23 Nov 2025)"),
        (date(2026, 2, 18), "en", "1 Ramadan 1447 AH (18 Feb 2026)"),
        (date(2025, 6, 26), "en", "1 Muharram 1447 AH (26 Jun 2025)"),
        (date(2023, 6, 28), "en", "10 Dhu al-Hijjah 1444 AH (28 Jun 2023)"),
        (date(2100, 1, 1), "en", "1 Jan 2100"),
        # Unknown language falls back to English
        (date(2026, 2, 18), "fr", "1 Ramadan 1447 AH (18 Feb 2026)"),
        (date(2026, 2, 18), "", "1 Ramadan 1447 AH (18 Feb 2026)"),
    ],
)
def test_short_date_shows_hijri_with_gregorian(d: date, lang: str, expected: str) -> None:
    assert format_date(d, lang) == expected


@pytest.mark.parametrize(
    ("d", "lang", "expected"),
    [
        # Arabic
        (date(2025, 11, 23), "ar", "2 جمادى الآخرة 1447هـ الموافق 23 نوفمبر 2025م"),
        (date(2026, 2, 18), "ar", "1 رمضان 1447هـ الموافق 18 فبراير 2026م"),
        (date(2023, 6, 28), "ar", "10 ذو الحجة 1444هـ الموافق 28 يونيو 2023م"),
        (date(2100, 1, 1), "ar", "1 يناير 2100م"),
        # English
        (date(2025, 11, 23), "en", "2 Jumada al-Akhirah 1447 AH (23 November 2025)"),
        (date(2026, 3, 20), "en", "1 Shawwal 1447 AH (20 March 2026)"),
        (date(2100, 1, 1), "en", "1 January 2100"),
        # Unknown language falls back to English
        (date(2026, 2, 18), "de", "1 Ramadan 1447 AH (18 February 2026)"),
    ],
)
def test_long_date_names_hijri_and_gregorian_months(d: date, lang: str, expected: str) -> None:
    assert format_date_long(d, lang) == expected


@pytest.mark.parametrize(
    ("d", "ar_month", "en_month"),
    [
        (date(2025, 6, 26), "محرم", "Muharram"),
        (date(2025, 7, 26), "صفر", "Safar"),
        (date(2025, 8, 24), "ربيع الأول", "Rabi al-Awwal"),
        (date(2025, 9, 23), "ربيع الآخر", "Rabi al-Thani"),
        (date(2025, 10, 23), "جمادى الأولى", "Jumada al-Ula"),
        (date(2025, 11, 22), "جمادى الآخرة", "Jumada al-Akhirah"),
        (date(2025, 12, 22), "رجب", "Rajab"),
        (date(2026, 1, 20), "شعبان", "Shaban"),
        (date(2026, 2, 18), "رمضان", "Ramadan"),
        (date(2026, 3, 20), "شوال", "Shawwal"),
        (date(2026, 4, 18), "ذو القعدة", "Dhu al-Qadah"),
        (date(2026, 5, 18), "ذو الحجة", "Dhu al-Hijjah"),
    ],
)
def test_every_hijri_month_has_arabic_and_english_name(
    d: date, ar_month: str, en_month: str
) -> None:
    assert f" {ar_month} 1447هـ" in format_date_long(d, "ar")
    assert f" {en_month} 1447 AH" in format_date_long(d, "en")
