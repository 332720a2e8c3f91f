"""Builders for the records system's payloads, with realistic Saudi details."""

from __future__ import annotations

from itertools import count

from core.identity.national_id import national_id_with_check_digit

_ids = count(1)

NATIONAL_ID = national_id_with_check_digit("101234567")
OTHER_NATIONAL_ID = national_id_with_check_digit("209876543")
MOBILE = "0551234567"
MOBILE_E164 = "+966551234567"
OTHER_MOBILE = "0569876543"
EMAIL = "applicant@example.com"


def event(kind: str, number: str, occurred_at: str, **extra) -> dict:
    return {"event_id": extra.pop("event_id", f"rec-{next(_ids):06d}"), "type": kind,
            "occurred_at": occurred_at, "transaction": {"number": number}, **extra}


def registered(number: str = "4471234", occurred_at: str = "2026-11-23T09:15:00+03:00",
               **applicant) -> dict:
    body = event("registered", number, occurred_at)
    body["transaction"].update(subject="طلب إفادة", applicant={
        "name": "محمد عبدالله", "national_id": NATIONAL_ID, "mobile": MOBILE, "email": EMAIL,
        **applicant})
    return body


def department(**extra) -> dict:
    return {"name_ar": "إدارة الحقوق", "name_en": "Rights Department",
            "manager": {"name": "سعد الفهد", "mobile": "0501112233"}, "reply_days": 10,
            **extra}


def agency(**extra) -> dict:
    return {"name_ar": "وزارة الداخلية", "name_en": "Ministry of Interior", **extra}


def employee(**extra) -> dict:
    return {"name": "خالد الباحث", "mobile": "0543334455", "department": "RIGHTS", **extra}
