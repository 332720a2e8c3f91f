"""The staff message history (/staff/messages): the outbox as an operator reads it."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from channels.email.sender import SmtpSender
from core.access.tokens import revoke_token
from core.messaging import outbox
from core.messaging.models import Notification
from core.platform.db import utcnow
from gateway.bootstrap import build_core
from tests import factories as f
from tests.conftest import (
    make_settings,
    sign_in,  # noqa: F401 (test_overdue_page imports it from here)
)
from tests.peers.smtp_peer import SmtpPeer

NUMBER = "4471234"
FULL_MOBILE = "+966551234567"


def text(response) -> str:
    return response.get_data(as_text=True)


@pytest.fixture
def outbox_rows(core):
    """Three messages for the applicant: one sent, one failed, one waiting for a retry."""
    core.upsert_department("RIGHTS", f.department())
    core.record_event(f.registered(NUMBER, "2025-11-23T09:15:00+03:00"))
    core.record_event(f.registered("5550001", "2025-11-23T09:20:00+03:00"))
    core.record_event(f.registered("5550002", "2025-11-23T09:25:00+03:00"))
    first, second, third = outbox.claim_due(core.db, limit=3)
    sent_at = datetime(2025, 11, 23, 6, 16, 5, tzinfo=UTC)
    assert outbox.mark_sent(core.db, first.id, ["abc123"], now=sent_at)
    assert outbox.mark_failed(core.db, second.id, "refused: ESME_RINVDSTADR")
    assert outbox.mark_retry(core.db, third.id, "ESME_RTHROTTLED",
                             utcnow() + timedelta(hours=1))
    with core.db.write.begin() as session:
        session.execute(update(Notification).where(Notification.id == first.id)
                        .values(created_at=datetime(2025, 11, 23, 6, 15, 0, tzinfo=UTC)))
    return first.id, second.id, third.id


def row_html(page: str, message_id: int) -> str:
    match = re.search(rf'<tr id="message-{message_id}".*?</tr>', page, re.S)
    assert match, f"message {message_id} is listed"
    return match.group(0)


def test_the_page_asks_staff_to_sign_in(client):
    for lang in ("ar", "en"):
        response = client.get(f"/staff/messages?lang={lang}")
        assert response.status_code == 303
        assert response.headers["Location"].startswith("/simulator/login")
        assert f"lang={lang}" in response.headers["Location"]


def test_a_revoked_token_ends_the_session(core, staff_client, staff_token):
    assert staff_client.get("/staff/messages").status_code == 200
    revoke_token(core.db.write, "trainer")

    assert staff_client.get("/staff/messages").status_code == 303


def test_the_page_is_arabic_and_right_to_left_by_default(staff_client, outbox_rows):
    page = text(staff_client.get("/staff/messages"))

    assert 'lang="ar" dir="rtl"' in page
    assert "سجل الرسائل" in page
    english = text(staff_client.get("/staff/messages?lang=en"))
    assert 'lang="en" dir="ltr"' in english and "Message history" in english


def test_each_message_shows_its_history(staff_client, outbox_rows):
    sent, failed, retrying = outbox_rows
    page = text(staff_client.get("/staff/messages?lang=en"))

    assert FULL_MOBILE not in page and "0551234567" not in page
    sent_row = row_html(page, sent)
    assert "+966*******67" in sent_row
    assert ">Sent<" in sent_row and "registration" in sent_row and "Citizen" in sent_row
    # Stored in UTC, shown in the configured zone (Asia/Riyadh, UTC+3).
    assert "2025-11-23 09:15:00" in sent_row and "2025-11-23 09:16:05" in sent_row
    assert "4471234" in sent_row  # the body
    failed_row = row_html(page, failed)
    assert ">Failed<" in failed_row and "refused: ESME_RINVDSTADR" in failed_row
    retry_row = row_html(page, retrying)
    assert ">Retrying<" in retry_row and "ESME_RTHROTTLED" in retry_row
    # Newest first.
    assert page.index(f'id="message-{retrying}"') < page.index(f'id="message-{sent}"')


def test_the_list_filters_by_status_and_kind(staff_client, outbox_rows):
    sent, failed, retrying = outbox_rows

    def listed(query: str) -> set[int]:
        page = text(staff_client.get(f"/staff/messages?{query}"))
        return {int(n) for n in re.findall(r'<tr id="message-(\d+)"', page)}

    assert listed("") == {sent, failed, retrying}
    assert listed("status=failed") == {failed}
    assert listed("status=retrying") == {retrying}
    assert listed("status=pending") == set()
    assert listed("status=sent&kind=registration") == {sent}
    assert listed("kind=no-such-kind") == set()
    assert listed("status=bogus") == {sent, failed, retrying}  # an unknown status: no filter


def test_the_status_names_are_arabic(staff_client, outbox_rows):
    _sent, failed, retrying = outbox_rows
    page = text(staff_client.get("/staff/messages"))

    assert "فشلت" in row_html(page, failed)
    assert "إعادة المحاولة" in row_html(page, retrying)


def test_the_language_switch_keeps_the_filters(staff_client, outbox_rows):
    page = text(staff_client.get("/staff/messages?status=failed&kind=registration"))

    link = re.search(r'class="lang-switch" href="([^"]+)"', page).group(1)
    assert "lang=en" in link and "status=failed" in link and "kind=registration" in link


def test_the_page_is_not_cached(staff_client, outbox_rows):
    response = staff_client.get("/staff/messages")

    assert response.headers["Cache-Control"] == "no-store"
    assert "<script" not in text(response)


VICTIM = "victim@example.com"


def test_an_smtp_refusal_quoting_the_address_is_stored_and_shown_masked(
        staff_client, database_url, tmp_path):
    """What an auditor reads on /staff/messages, and in the table, after the mail server
    refused a notification with a 5xx quoting the address (as most servers do)."""
    settings = make_settings(database_url, tmp_path,
                             email={"enabled": True, "notifications": True})
    notifying = build_core(settings, background_log=False)
    try:
        notifying.record_event(f.registered(NUMBER, email=VICTIM))
        with SmtpPeer() as smtp:
            smtp.refuse[VICTIM] = f"550 5.1.1 <{VICTIM}>: Recipient address rejected"
            sender = SmtpSender(notifying, settings.email.smtp.model_copy(update={
                "host": smtp.host, "port": smtp.port, "ssl": False, "starttls": False,
                "from_address": "inquiries@emirate.gov.sa"}))
            sender.send_due()
    finally:
        notifying.close()
    with notifying.db.read() as session:
        [row] = session.scalars(select(Notification).where(Notification.channel == "email"))
    assert row.status == "failed" and "550" in row.last_error
    assert "victim" not in row.last_error and "v***@example.com" in row.last_error

    page = text(staff_client.get("/staff/messages?lang=en"))

    assert "victim" not in page
    assert "550 5.1.1 &lt;v***@example.com&gt;" in row_html(page, row.id)


def test_a_reason_stored_before_masking_is_masked_when_shown(core, staff_client,
                                                             outbox_rows):
    _sent, failed, _retrying = outbox_rows
    with core.db.write.begin() as session:
        session.execute(update(Notification).where(Notification.id == failed).values(
            last_error=f"refused: {VICTIM} and {FULL_MOBILE} (0551234567)"))

    shown = row_html(text(staff_client.get("/staff/messages?lang=en")), failed)

    assert "victim" not in shown and "551234567" not in shown.replace("+966*******67", "")
    assert "refused: v***@example.com and +966*******67 (********67)" in shown
