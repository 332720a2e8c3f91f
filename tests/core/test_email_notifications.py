"""Registration and issuance notifications by e-mail: only when configured, only to an
applicant with an address, Arabic then English, once per event."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from core.messaging.models import Notification
from gateway.bootstrap import build_core
from tests import factories as f
from tests.conftest import make_settings

NUMBER = "4471234"


@pytest.fixture
def notifying(core, database_url, tmp_path):
    """A second core over the same database with e-mail notifications on."""
    settings = make_settings(database_url, tmp_path,
                             email={"enabled": True, "notifications": True})
    notifying = build_core(settings, background_log=False)
    yield notifying
    notifying.close()


def email_rows(core) -> list[Notification]:
    with core.db.read() as session:
        return list(session.scalars(select(Notification).where(Notification.channel == "email")
                                    .order_by(Notification.id)))


def test_off_by_default(core):
    core.record_event(f.registered(NUMBER))

    assert email_rows(core) == []


def test_registration_and_issuance_also_by_email_arabic_then_english(notifying):
    notifying.upsert_agency("MOI", f.agency())
    notifying.record_event(f.registered(NUMBER, "2025-11-23T09:00:00+03:00"))
    notifying.record_event(f.event("issued", NUMBER, "2025-11-24T09:00:00+03:00",
                                   outgoing_number="98765", destination_agency="MOI",
                                   reply_expected=False))

    registration, issuance = email_rows(notifying)

    assert (registration.kind, issuance.kind) == ("registration", "issuance")
    assert registration.recipient == issuance.recipient == f.EMAIL
    assert registration.body.index("تم تسجيل") < registration.body.index("registered")
    assert "98765" in issuance.body and "وزارة الداخلية" in issuance.body
    assert "Ministry of Interior" in issuance.body


def test_an_applicant_without_an_address_gets_none(notifying):
    notifying.record_event(f.registered(NUMBER, email=None))

    assert email_rows(notifying) == []
