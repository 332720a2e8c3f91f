"""Local dates and Hijri (Umm al-Qura) / Gregorian formatting for citizen messages."""

from __future__ import annotations

from datetime import UTC, date, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

from hijridate import Gregorian

__all__ = [
    "RIYADH",
    "local_date",
    "hijri_date",
    "format_hijri",
    "format_date",
    "format_date_long",
]

RIYADH = ZoneInfo("Asia/Riyadh")

HIJRI_MONTHS_EN = (
    "Muharram",
    "Safar",
    "Rabi al-Awwal",
    "Rabi al-Thani",
    "Jumada al-Ula",
    "Jumada al-Akhirah",
    "Rajab",
    "Shaban",
    "Ramadan",
    "Shawwal",
    "Dhu al-Qadah",
    "Dhu al-Hijjah",
)
HIJRI_MONTHS_AR = (
    "محرم",
    "صفر",
    "ربيع الأول",
    "ربيع الآخر",
    "جمادى الأولى",
    "جمادى الآخرة",
    "رجب",
    "شعبان",
    "رمضان",
    "شوال",
    "ذو القعدة",
    "ذو الحجة",
)
GREGORIAN_MONTHS_EN = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
GREGORIAN_MONTHS_AR = (
    "يناير",
    "فبراير",
    "مارس",
    "أبريل",
    "مايو",
    "يونيو",
    "يوليو",
    "أغسطس",
    "سبتمبر",
    "أكتوبر",
    "نوفمبر",
    "ديسمبر",
)


def local_date(moment: datetime, tz: ZoneInfo = RIYADH) -> date:
    """Calendar date of ``moment`` in ``tz``; naive datetimes are taken as UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(tz).date()


@lru_cache(maxsize=8192)
def hijri_date(d: date) -> tuple[int, int, int] | None:
    """Umm al-Qura (year, month, day) for ``d``, or None outside hijridate's range."""
    try:
        return Gregorian(d.year, d.month, d.day).to_hijri().datetuple()
    except (OverflowError, ValueError):
        return None


def format_hijri(d: date) -> str:
    """Hijri date as "YYYY/MM/DD" (e.g. "1447/06/02"), or "" outside the supported range."""
    hijri = hijri_date(d)
    if hijri is None:
        return ""
    year, month, day = hijri
    return f"{year:04d}/{month:02d}/{day:02d}"


def _is_arabic(lang: str) -> bool:
    """True for "ar", "ar-SA", "ar_SA", ...; anything else is English."""
    return lang.strip().lower().replace("_", "-").split("-")[0] == "ar"


@lru_cache(maxsize=8192)
def format_date(d: date, lang: str) -> str:
    """Short Hijri date with the Gregorian date beside it.

    Arabic: "1447/06/02هـ (2025/11/23م)"; English: "2 Jumada al-Akhirah 1447 AH (23 Nov 2025)".
    Outside the Hijri range only the Gregorian part is returned.
    """
    hijri = hijri_date(d)
    if _is_arabic(lang):
        gregorian = f"{d.year:04d}/{d.month:02d}/{d.day:02d}م"
        if hijri is None:
            return gregorian
        return f"{format_hijri(d)}هـ ({gregorian})"
    gregorian = f"{d.day} {GREGORIAN_MONTHS_EN[d.month - 1][:3]} {d.year}"
    if hijri is None:
        return gregorian
    year, month, day = hijri
    return f"{day} {HIJRI_MONTHS_EN[month - 1]} {year} AH ({gregorian})"


@lru_cache(maxsize=8192)
def format_date_long(d: date, lang: str) -> str:
    """Long date for screens, Hijri with month names and the Gregorian equivalent.

    Arabic: "2 جمادى الآخرة 1447هـ الموافق 23 نوفمبر 2025م";
    English: "2 Jumada al-Akhirah 1447 AH (23 November 2025)".
    Outside the Hijri range only the Gregorian part is returned.
    """
    hijri = hijri_date(d)
    if _is_arabic(lang):
        gregorian = f"{d.day} {GREGORIAN_MONTHS_AR[d.month - 1]} {d.year}م"
        if hijri is None:
            return gregorian
        year, month, day = hijri
        return f"{day} {HIJRI_MONTHS_AR[month - 1]} {year}هـ الموافق {gregorian}"
    gregorian = f"{d.day} {GREGORIAN_MONTHS_EN[d.month - 1]} {d.year}"
    if hijri is None:
        return gregorian
    year, month, day = hijri
    return f"{day} {HIJRI_MONTHS_EN[month - 1]} {year} AH ({gregorian})"
